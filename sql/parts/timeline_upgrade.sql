-- ----------------------------------------------- timelines, second part

-- get_timeline and get_author_feed gain their filter parameters (last,
-- with defaults: every 0.1.0 call keeps its meaning). The functions are
-- created again below, with the same C functions.
DROP FUNCTION dataplane.get_timeline(int, int, timestamptz, bigint);
DROP FUNCTION dataplane.get_author_feed(int, int, timestamptz, bigint);

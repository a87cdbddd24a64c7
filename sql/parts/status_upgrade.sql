-- ------------------------------------------------------------ operations

-- status() gains columns at its end: the reason for its state, and reads
-- answered from the tables on a standby or while capture is off.
DROP FUNCTION dataplane.status();


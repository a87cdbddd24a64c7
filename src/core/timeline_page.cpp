#include "timeline_page.hpp"

namespace dp {

// The instance the tests and copies use.
template Page merge_page<Source<AuthorItem>>(const Source<FeedItem> &, const Source<AuthorItem> *,
                                             size_t, ItemKey, size_t, std::vector<PageItem> *);

}  // namespace dp

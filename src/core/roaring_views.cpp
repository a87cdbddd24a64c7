#include "roaring_views.hpp"

namespace dp {

const roaring_bitmap_t *RoaringViews::get(const BaseHdr *h) {
    const auto *r = reinterpret_cast<const RoaringHdr *>(h);
    int set = int((r->serial * 0x9E3779B97F4A7C15ull) >> 59);
    for (int w = 0; w < 2; w++) {
        Slot &s = slots_[set][w];
        if (s.view != nullptr && s.serial == r->serial) {
            mru_[set] = uint8_t(w);
            return s.view;
        }
    }
    int victim = 1 - mru_[set];
    Slot &s = slots_[set][victim];
    if (s.view != nullptr)
        roaring_bitmap_free(s.view);
    s.view = roaring_bitmap_frozen_view(roaring_data(h), r->frozen_len);
    s.serial = r->serial;
    mru_[set] = uint8_t(victim);
    return s.view;
}

void RoaringViews::clear() {
    for (auto &set : slots_)
        for (Slot &s : set) {
            if (s.view != nullptr)
                roaring_bitmap_free(s.view);
            s = Slot();
        }
}

}  // namespace dp

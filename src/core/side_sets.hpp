// The sets of one side (directory.hpp: Side), wherever they live: the
// follow sides in the user directory, the moderation sides in the
// moderation directory, a list's sets in the list directory. The write
// side (commit apply, builds, clears) reaches every set through this.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstdint>

#include "directory.hpp"

namespace dp {

class SideSets {
  public:
    // Any directory may be nullptr: the index then keeps no set of the
    // sides that live there (kept() is false).
    SideSets(Directory *dir, ModDirectory *mod, ModDirectory *lists, uint8_t side)
        : side_(side), slot_(slot_of(side)) {
        if (side <= kIn)
            dir_ = dir;
        else if (side < kMembers)
            mod_ = mod;
        else if (side < kNumSides)
            mod_ = lists;
    }

    uint8_t side() const { return side_; }
    bool kept() const { return dir_ != nullptr || mod_ != nullptr; }

    // owner's set, or nullptr when no leaf holds owner yet (an empty set).
    SetRef *find(uint32_t owner) const {
        if (dir_ != nullptr) {
            DirEntry *e = dir_->find(owner);
            return e != nullptr ? &e->set[slot_] : nullptr;
        }
        ModEntry *e = mod_ != nullptr ? mod_->find(owner) : nullptr;
        return e != nullptr ? &e->set[slot_] : nullptr;
    }
    // The same, creating owner's leaf; nullptr when the arena is full.
    SetRef *get(uint32_t owner) const {
        if (dir_ != nullptr) {
            DirEntry *e = dir_->get(owner);
            return e != nullptr ? &e->set[slot_] : nullptr;
        }
        ModEntry *e = mod_ != nullptr ? mod_->get(owner) : nullptr;
        return e != nullptr ? &e->set[slot_] : nullptr;
    }
    bool lost(uint32_t owner) const {
        return dir_ != nullptr ? dir_->lost(owner) : mod_ != nullptr && mod_->lost(owner);
    }
    void mark_lost(uint32_t owner) const {
        if (dir_ != nullptr)
            dir_->mark_lost(owner);
        else if (mod_ != nullptr)
            mod_->mark_lost(owner);
    }
    // One past the highest owner any leaf covers.
    uint32_t end() const {
        return dir_ != nullptr ? dir_->uid_end() : mod_ != nullptr ? mod_->uid_end() : 0;
    }
    // Is a leaf there for the owners around `owner` (or is it lost)?
    bool leaf_or_lost(uint32_t owner) const {
        uint32_t probe = owner | 1;
        return lost(owner) || (dir_ != nullptr ? dir_->find(probe) != nullptr
                                               : mod_ != nullptr && mod_->find(probe) != nullptr);
    }

  private:
    Directory *dir_ = nullptr;
    ModDirectory *mod_ = nullptr;
    uint8_t side_;
    uint8_t slot_;
};

}  // namespace dp

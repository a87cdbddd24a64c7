// Hash tables for the batch model (ingest_tables.hpp): open addressing with
// linear probing in flat arrays, the subset of std::unordered_map's and
// std::unordered_set's interface the model uses.
//
// A batch builds and drops tens of thousands of small entries in a few
// dozen tables, and copies the loaded ones for each run: with the standard
// containers that was an allocation and a free per entry, a division per
// lookup and a pointer chase per probe (measured: over half of the model's
// time). Here an entry lives in one array of slots, next to the hash that
// placed it; a lookup compares hashes before keys; a copy is two array
// copies.
//
// Differences that matter to callers: an insertion may move every entry
// (no reference or iterator survives one), and so may an erase (backward
// shift deletion: no tombstones); iteration order is unspecified, as it is
// for the standard containers. Allocation failures throw std::bad_alloc
// and leave the table as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <type_traits>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace ing {

// A hash of text for these tables: 8 bytes a step, each mixed by a
// multiplication. (std::hash<std::string_view>, murmur-like, took 5 % of a
// batch's CPU time, rkeys and DIDs being hashed several times each; the
// tables take the high bits of a product of the hash, flat::slot_of.)
inline uint64_t hash_text(std::string_view s) {
    const unsigned char *p = reinterpret_cast<const unsigned char *>(s.data());
    size_t n = s.size();
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t(n) * 0xff51afd7ed558ccdull);
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= uint64_t(p[i]) << (8 * i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

namespace flat {

// The slot of hash h in a table of 2^bits slots (Fibonacci hashing: the
// high bits of the product, so that keys whose hashes differ only in their
// high bits still spread).
inline size_t slot_of(uint64_t h, unsigned bits) {
    return size_t((h * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

// Slots and their hashes (0: an empty slot; stored hashes have bit 0 set).
// Entry is the stored value (a key, or a pair of key and value); KeyOf
// reads its key.
template <typename Entry, typename Key, typename KeyOf, typename Hash>
class Table {
  public:
    template <bool Const>
    class Iter {
      public:
        using T = std::conditional_t<Const, const Table, Table>;
        using E = std::conditional_t<Const, const Entry, Entry>;
        using iterator_category = std::forward_iterator_tag;
        using value_type = Entry;
        using difference_type = std::ptrdiff_t;
        using pointer = E *;
        using reference = E &;
        Iter(T *t, size_t i) : t_(t), i_(i) { skip(); }
        E &operator*() const { return t_->slots_[i_]; }
        E *operator->() const { return &t_->slots_[i_]; }
        Iter &operator++() {
            i_++;
            skip();
            return *this;
        }
        bool operator==(const Iter &o) const { return i_ == o.i_; }
        bool operator!=(const Iter &o) const { return i_ != o.i_; }
        operator Iter<true>() const { return Iter<true>(t_, i_); }
        size_t index() const { return i_; }

      private:
        void skip() {
            while (i_ < t_->hashes_.size() && t_->hashes_[i_] == 0)
                i_++;
        }
        T *t_;
        size_t i_;
    };
    using iterator = Iter<false>;
    using const_iterator = Iter<true>;

    iterator begin() { return iterator(this, 0); }
    iterator end() { return iterator(this, hashes_.size()); }
    const_iterator begin() const { return const_iterator(this, 0); }
    const_iterator end() const { return const_iterator(this, hashes_.size()); }

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    // Empties the table and keeps its arrays (for a table refilled batch
    // after batch).
    void clear() {
        for (size_t i = 0; size_ > 0 && i < hashes_.size(); i++)
            if (hashes_[i] != 0) {
                slots_[i] = Entry();
                hashes_[i] = 0;
                size_--;
            }
    }

    iterator find(const Key &k) { return iterator(this, locate(k, hash(k))); }
    const_iterator find(const Key &k) const { return const_iterator(this, locate(k, hash(k))); }
    size_t count(const Key &k) const { return locate(k, hash(k)) != hashes_.size(); }

    // Inserts e unless its key is there; the entry and whether it was new.
    template <typename E>
    std::pair<iterator, bool> insert_entry(E &&e) {
        const Key &k = KeyOf()(e);
        uint64_t h = hash(k);
        size_t at = locate(k, h);
        if (at != hashes_.size())
            return {iterator(this, at), false};
        reserve(size_ + 1);
        at = place(h);
        slots_[at] = std::forward<E>(e);
        hashes_[at] = h;
        size_++;
        return {iterator(this, at), true};
    }

    // Erases the entry of key k, if any; how many (0 or 1).
    size_t erase(const Key &k) {
        size_t at = locate(k, hash(k));
        if (at == hashes_.size())
            return 0;
        erase_at(at);
        return 1;
    }
    void erase(const_iterator it) { erase_at(it.index()); }

    // Room for n entries without growing (throws std::bad_alloc).
    void reserve(size_t n) {
        if (n * 4 <= capacity() * 3)
            return;
        unsigned bits = bits_ == 0 ? 4 : bits_;
        while ((size_t(1) << bits) * 3 < n * 4)
            bits++;
        if (bits == bits_)
            bits++;
        grow(bits);
    }

  private:
    size_t capacity() const { return hashes_.size(); }

    static uint64_t hash(const Key &k) { return uint64_t(Hash()(k)) | 1; }

    // The slot holding key k (hash h), or capacity().
    size_t locate(const Key &k, uint64_t h) const {
        if (size_ == 0)
            return capacity();
        size_t mask = capacity() - 1;
        for (size_t i = slot_of(h, bits_);; i = (i + 1) & mask) {
            uint64_t s = hashes_[i];
            if (s == 0)
                return capacity();
            if (s == h && KeyOf()(slots_[i]) == k)
                return i;
        }
    }

    // The first free slot on h's probe sequence (there is one).
    size_t place(uint64_t h) const {
        size_t mask = capacity() - 1;
        size_t i = slot_of(h, bits_);
        while (hashes_[i] != 0)
            i = (i + 1) & mask;
        return i;
    }

    void grow(unsigned bits) {
        std::vector<Entry> slots(size_t(1) << bits);
        std::vector<uint64_t> hashes(size_t(1) << bits, 0);
        // Nothing below allocates: entries move (noexcept for the model's
        // types), the table is replaced only now.
        std::swap(slots, slots_);
        std::swap(hashes, hashes_);
        bits_ = bits;
        for (size_t i = 0; i < hashes.size(); i++)
            if (hashes[i] != 0) {
                size_t at = place(hashes[i]);
                slots_[at] = std::move(slots[i]);
                hashes_[at] = hashes[i];
            }
    }

    // Backward shift deletion: later entries of the same run move up into
    // the hole when their probe sequence passes it.
    void erase_at(size_t hole) {
        size_t mask = capacity() - 1;
        for (size_t i = (hole + 1) & mask; hashes_[i] != 0; i = (i + 1) & mask) {
            size_t home = slot_of(hashes_[i], bits_);
            // Can the entry at i move to the hole? Only if its home is not
            // in the cyclic range (hole, i].
            bool after_hole = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
            if (after_hole)
                continue;
            slots_[hole] = std::move(slots_[i]);
            hashes_[hole] = hashes_[i];
            hole = i;
        }
        slots_[hole] = Entry();
        hashes_[hole] = 0;
        size_--;
    }

    std::vector<Entry> slots_;
    std::vector<uint64_t> hashes_;
    size_t size_ = 0;
    unsigned bits_ = 0;
};

// A hash of an integer key whose every bit depends on every bit of the key.
struct IntHash {
    size_t operator()(uint64_t v) const {
        v ^= v >> 33;
        v *= 0xff51afd7ed558ccdull;
        return size_t(v ^ (v >> 33));
    }
};

template <typename K, typename V>
struct FirstOf {
    const K &operator()(const std::pair<K, V> &e) const { return e.first; }
};

template <typename K>
struct Self {
    const K &operator()(const K &k) const { return k; }
};

}  // namespace flat

// unordered_map's subset: find, count, emplace, insert, operator[], at,
// erase (by key or iterator), iteration over pairs (the key is not const:
// do not change it), size, empty, clear, reserve.
template <typename K, typename V, typename Hash>
class FlatMap : public flat::Table<std::pair<K, V>, K, flat::FirstOf<K, V>, Hash> {
    using Base = flat::Table<std::pair<K, V>, K, flat::FirstOf<K, V>, Hash>;

  public:
    using value_type = std::pair<K, V>;
    using typename Base::const_iterator;
    using typename Base::iterator;

    std::pair<iterator, bool> emplace(const K &k, const V &v) { return this->insert_entry(value_type(k, v)); }
    std::pair<iterator, bool> insert(const value_type &e) { return this->insert_entry(e); }

    V &operator[](const K &k) { return this->insert_entry(value_type(k, V())).first->second; }

    V &at(const K &k) {
        auto it = this->find(k);
        if (it == this->end())
            throw std::out_of_range("FlatMap::at");
        return it->second;
    }
    const V &at(const K &k) const {
        auto it = this->find(k);
        if (it == this->end())
            throw std::out_of_range("FlatMap::at");
        return it->second;
    }
};

// unordered_set's subset: find, count, insert (one key or a range), erase,
// iteration, size, empty, clear, reserve.
template <typename K, typename Hash>
class FlatSet : public flat::Table<K, K, flat::Self<K>, Hash> {
  public:
    using value_type = K;
    using typename flat::Table<K, K, flat::Self<K>, Hash>::iterator;

    std::pair<iterator, bool> insert(const K &k) { return this->insert_entry(k); }

    template <typename It>
    void insert(It first, It last) {
        this->reserve(this->size() + size_t(last - first));
        for (; first != last; ++first)
            this->insert_entry(*first);
    }
};

}  // namespace ing

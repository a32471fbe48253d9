// The explorer's visited set: open addressing over 128-bit fingerprints, linear probing. A zero
// fingerprint marks an empty slot (a real zero is stored as 1). The table lives in anonymous
// memory asked for in transparent huge pages: its accesses are random, and with 4 KiB pages
// nearly every one of them also missed the TLB.
//
// It doubles in place: the table lies at the start of a huge_region (sim/huge_region.hpp), a
// reserved range made writable as it grows, and probes never wrap (the home slots are followed
// by an overflow tail), so after a doubling every entry either stays at or before its slot or
// moves to the new upper half, and one pass rehashes the table where it lies. A fresh table per
// doubling touched twice the memory, and the kernel zeroing fresh pages (`clear_page_erms`)
// was a tenth of a small window's search (docs/performance.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/huge_region.hpp"
#include "sim/state_codec.hpp"

namespace sdmc {

class fingerprint_set {
 public:
  // 2^log2_slots home slots to start with (tests start small to exercise the growth).
  explicit fingerprint_set(unsigned log2_slots = 16);
  fingerprint_set(const fingerprint_set&) = delete;
  fingerprint_set& operator=(const fingerprint_set&) = delete;

  // True when fp was not there (it is now).
  bool insert(fingerprint128 fp);
  bool contains(fingerprint128 fp) const;
  std::size_t size() const { return size_; }
  std::size_t home_slots() const { return mask_ + 1; }
  // Brings fp's first slot into the cache ahead of insert.
  void prefetch(const fingerprint128& fp) const { __builtin_prefetch(&slots_[fp.lo & mask_]); }

  // Overflow slots after the last home slot: a probe that runs past them doubles the table.
  static constexpr std::size_t tail = 256;

 private:
  huge_region region_;
  fingerprint128* slots_;
  std::size_t mask_;
  std::size_t size_ = 0;

  // Room for tables up to 2^33 home slots, the first `home` of them writable.
  static huge_region reserve(std::size_t home);

  static bool empty(const fingerprint128& s) { return s.lo == 0 && s.hi == 0; }
  static std::size_t bytes(std::size_t home) { return (home + tail) * sizeof(fingerprint128); }
  // 1: placed, 0: already there, -1: the probe ran off the tail.
  int place(fingerprint128* t, std::size_t mask, const fingerprint128& fp);
  void grow();
  void rebuild(std::size_t home, const fingerprint128* extra, std::size_t nextra);
};

}  // namespace sdmc

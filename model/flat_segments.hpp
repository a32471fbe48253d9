// Sorted, disjoint segments [start, end) -> value in one contiguous vector: the small-window
// store of mm_struct (model/mm.hpp).
//
// The model's address spaces are usually small (the benchmark mix keeps about 60 VMAs and a
// dozen PTE runs; the explorer's windows hold a handful). There a binary search over a few
// cache lines, a memmove of a few hundred bytes and a copy without allocation beat the
// Boost.ICL trees, whose every step is a pointer chase and every node an allocation. Inserting
// in the middle costs O(n), so mm_struct moves to the ICL containers once a vector grows past
// mm_struct::flat_limit: the cost keeps following the number of intervals, never pages.
//
// The semantics are those of the ICL containers they stand in for, so that both stores give
// the same answers (tests/mm_store_test.cpp checks it): erase trims or splits the segments it
// cuts (a split copies the value, as split_interval_map does), and the joining variants merge
// a new segment with equal neighbours (interval_map's and interval_set's joining).
#pragma once

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cstddef>

#include "model/types.hpp"

namespace sdmc::flat {

template <class V>
struct seg {
  pfn_t start = 0, end = 0;
  V v{};
};

template <class V, std::size_t N>
using segments = boost::container::small_vector<seg<V>, N>;

// The index of the first segment that ends after x (the ICL lower_bound of [x, x+1)).
template <class Vec>
std::size_t lower(const Vec& s, pfn_t x) {
  // A few segments (the explorer's windows): counting those that end at or before x is the
  // same index (they are sorted and disjoint) without the binary search's unpredictable
  // branches.
  if (s.size() <= 8) {
    std::size_t i = 0;
    for (const auto& g : s) i += g.end <= x;
    return i;
  }
  return std::size_t(std::partition_point(s.begin(), s.end(),
                                          [x](const auto& g) { return g.end <= x; }) -
                     s.begin());
}

// The segment containing x, or nullptr.
template <class Vec>
auto* find(Vec& s, pfn_t x) {
  const std::size_t i = lower(s, x);
  return i < s.size() && s[i].start <= x ? &s[i] : nullptr;
}

// Removes [a, b) from the segments: those inside go, those cut are trimmed, one that spans the
// whole range is split in two. Returns the index at which a segment starting at `a` belongs.
template <class Vec>
std::size_t erase(Vec& s, pfn_t a, pfn_t b) {
  std::size_t i = lower(s, a);
  if (i < s.size() && s[i].start < a) {
    if (s[i].end > b) {  // [a, b) lies strictly inside one segment: split it
      auto right = s[i];
      right.start = b;
      s[i].end = a;
      s.insert(s.begin() + std::ptrdiff_t(i) + 1, right);
      return i + 1;
    }
    s[i].end = a;
    ++i;
  }
  std::size_t j = i;
  while (j < s.size() && s[j].end <= b) ++j;
  if (j < s.size() && s[j].start < b) s[j].start = b;
  s.erase(s.begin() + std::ptrdiff_t(i), s.begin() + std::ptrdiff_t(j));
  return i;
}

// Puts [a, b) -> v at index `at` (from erase, so the range is free), joined with equal
// neighbours that touch it.
template <class Vec, class V>
void insert_joined(Vec& s, std::size_t at, pfn_t a, pfn_t b, const V& v) {
  const bool left = at > 0 && s[at - 1].end == a && s[at - 1].v == v;
  const bool right = at < s.size() && s[at].start == b && s[at].v == v;
  if (left && right) {
    s[at - 1].end = s[at].end;
    s.erase(s.begin() + std::ptrdiff_t(at));
  } else if (left) {
    s[at - 1].end = b;
  } else if (right) {
    s[at].start = a;
  } else {
    s.insert(s.begin() + std::ptrdiff_t(at), {a, b, v});
  }
}

// Joins equal neighbours that touch, after values were rewritten in place.
template <class Vec>
void join(Vec& s) {
  if (s.size() < 2) return;
  std::size_t out = 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[out].end == s[i].start && s[out].v == s[i].v) s[out].end = s[i].end;
    else s[++out] = s[i];
  }
  s.resize(out + 1);
}

}  // namespace sdmc::flat

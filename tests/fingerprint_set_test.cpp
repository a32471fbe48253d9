// The explorer's visited set (sim/fingerprint_set.hpp): what it holds must be exactly what was
// inserted through every in-place doubling, including the doublings forced by a probe running
// off the overflow tail, and a hash that piles every fingerprint on one slot is an error.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <stdexcept>
#include <utility>

#include "sim/fingerprint_set.hpp"

namespace sdmc {
namespace {

TEST(FingerprintSet, HoldsExactlyWhatWasInsertedThroughEveryDoubling) {
  fingerprint_set set(4);  // 16 home slots: fifteen doublings on the way
  std::set<std::pair<std::uint64_t, std::uint64_t>> want;
  std::mt19937_64 rng(20261123);
  std::vector<fingerprint128> seen;
  for (int i = 0; i < 300000; ++i) {
    fingerprint128 fp;
    if (!seen.empty() && rng() % 3 == 0) {
      fp = seen[rng() % seen.size()];  // a state met again
    } else {
      fp = {rng(), rng()};
      seen.push_back(fp);
    }
    ASSERT_EQ(set.insert(fp), want.insert({fp.lo, fp.hi}).second) << "insert " << i;
  }
  EXPECT_EQ(set.size(), want.size());
  EXPECT_EQ(set.home_slots(), std::size_t(1) << 19);  // the first power of two at most half full
  for (const auto& [lo, hi] : want) ASSERT_TRUE(set.contains({lo, hi}));
  for (int i = 0; i < 10000; ++i) EXPECT_FALSE(set.contains({rng(), rng()}));
}

TEST(FingerprintSet, ARunOffTheTailDoublesTheTable) {
  // 300 fingerprints whose home is the last of 1,024 slots (a quarter full: no doubling for
  // the load): the 258th runs past the 256-slot tail. Doubled, they split between slots 1,023
  // and 2,047, the old tail's entries moved out of the new upper half's way first.
  fingerprint_set set(10);
  for (std::uint64_t k = 0; k < 300; ++k) ASSERT_TRUE(set.insert({k << 10 | 1023, k}));
  EXPECT_EQ(set.home_slots(), 2048u);
  EXPECT_EQ(set.size(), 300u);
  for (std::uint64_t k = 0; k < 300; ++k) {
    ASSERT_TRUE(set.contains({k << 10 | 1023, k})) << k;
    ASSERT_FALSE(set.insert({k << 10 | 1023, k})) << k;
  }
  EXPECT_FALSE(set.contains({300 << 10 | 1023, 300}));
}

TEST(FingerprintSet, AHashThatPilesEverythingOnOneSlotIsAnError) {
  // Every fingerprint at the last home slot whatever the table's size: doubling never helps.
  fingerprint_set set(10);
  EXPECT_THROW(
      for (std::uint64_t k = 0; k < 2000; ++k) set.insert({~std::uint64_t(0), k}),
      std::length_error);
}

TEST(FingerprintSet, TheZeroFingerprintIsStoredAsOne) {
  fingerprint_set set;
  EXPECT_TRUE(set.insert({0, 0}));
  EXPECT_TRUE(set.contains({0, 0}));
  EXPECT_FALSE(set.insert({1, 0}));  // (an empty slot is zero: the two are one entry)
  EXPECT_EQ(set.size(), 1u);
}

}  // namespace
}  // namespace sdmc

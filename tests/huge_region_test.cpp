// The explorer's arrays in reserved huge-page memory (sim/huge_region.hpp): what is pushed is
// what is read back through every growth, clear keeps nothing but the memory, swap exchanges
// whole arrays, and an array that outgrows its reservation is an error naming it.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "sim/huge_region.hpp"

namespace sdmc {
namespace {

struct state128 {
  std::uint64_t w[16];
};

TEST(HugeVector, ReadsBackWhatWasPushedThroughEveryGrowth) {
  huge_vector<state128> v(1 << 20, "test frontier");
  for (std::uint64_t i = 0; i < 100000; ++i) {  // 12.8 MB: three doublings past the first 2 MiB
    state128 s{};
    s.w[0] = i;
    s.w[15] = ~i;
    v.push_back(s);
  }
  ASSERT_EQ(v.size(), 100000u);
  for (std::uint64_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(v[i].w[0], i);
    ASSERT_EQ(v[i].w[15], ~i);
  }
}

TEST(HugeVector, ClearAndSwapAreWholeArrayOperations) {
  huge_vector<std::uint32_t> a(1 << 20, "a"), b(1 << 20, "b");
  for (std::uint32_t i = 0; i < 1000; ++i) a.push_back(i);
  b.push_back(7);
  std::swap(a, b);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], 7u);
  ASSERT_EQ(b.size(), 1000u);
  EXPECT_EQ(b[999], 999u);
  b.clear();
  EXPECT_TRUE(b.empty());
  b.push_back(42);  // the next level reuses the memory
  EXPECT_EQ(b[0], 42u);
  EXPECT_EQ(b.size(), 1u);
}

TEST(HugeVector, OutgrowingTheReservationIsAnErrorNamingTheArray) {
  // 2 MiB reserved (the reservation is rounded up to a huge page): 2^19 four-byte elements fit.
  huge_vector<std::uint32_t> v(1000, "test parents");
  for (std::uint32_t i = 0; i < (1u << 19); ++i) v.push_back(i);
  try {
    v.push_back(0);
    FAIL() << "no error past the reservation";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("test parents"), std::string::npos) << e.what();
  }
  EXPECT_EQ(v.size(), std::size_t(1) << 19);
  EXPECT_EQ(v[(1u << 19) - 1], (1u << 19) - 1);
}

}  // namespace
}  // namespace sdmc

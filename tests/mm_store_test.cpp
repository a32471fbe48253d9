// mm_struct's two stores (model/mm.hpp): the sorted vectors of small address spaces
// (model/flat_segments.hpp) and the Boost.ICL trees must give the same answers, including
// across the switch from one to the other. Random traces of every operation are replayed under
// every policy with the vectors, with the trees from the start, and with a limit so low that
// the switch happens mid-trace; after every line the VMAs, PTE runs, page tables, non_sd_reg
// lists, memory files and results must be equal.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <sstream>

#include "model/flat_segments.hpp"
#include "model/policy.hpp"
#include "sim/generator.hpp"
#include "sim/replay.hpp"

namespace sdmc {
namespace {

// Sets mm_struct::flat_limit for the mm_structs constructed in its scope.
struct flat_limit_scope {
  std::size_t saved = mm_struct::flat_limit();
  explicit flat_limit_scope(std::size_t limit) { mm_struct::flat_limit() = limit; }
  ~flat_limit_scope() { mm_struct::flat_limit() = saved; }
};

// Everything the store holds, as text (one line per VMA, PTE run, table run, list, file).
std::string snapshot(const kernel& k) {
  std::ostringstream o;
  k.mm.for_each_vma([&](const vma_ref& v) {
    o << fmt::format("vma {:#x}-{:#x} flags {:#x} file {}{} pgoff {} anon {} prot_w {} id {}\n",
                     v.vm_start, v.vm_end, v.v.vm_flags, v.v.file, v.v.file_ro ? " ro" : "",
                     v.v.pgoff_delta, v.v.anon_vma, v.v.page_prot_write, v.v.vma_id);
  });
  k.mm.for_each_pte([&](pfn_t s, pfn_t e, const pte_t& p) {
    o << fmt::format("pte {:#x}-{:#x} kind {} page {} w{} d{} sd{} wp{} ex{} lf{}\n", s, e,
                     int(p.kind), int(p.page), p.write, p.dirty, p.soft_dirty, p.uffd_wp,
                     p.anon_exclusive, p.lazyfree);
  });
  k.mm.for_each_table_run(0, addr_to_pfn(TASK_SIZE), [&](pfn_t s, pfn_t e, bool t) {
    if (t) o << fmt::format("table {:#x}-{:#x}\n", s, e);
  });
  for (const auto& [id, nodes] : k.mm.non_sd_regs) {
    o << "non_sd_reg " << id << ":";
    for (const non_sd_reg& n : nodes) o << fmt::format(" {:#x}-{:#x}", n.start, n.end);
    o << "\n";
  }
  for (const memfile& f : k.mm.files)
    o << fmt::format("file {} size {} cached {} dirty {} swapped {}\n", f.name, f.size_pages,
                     f.cached.iterative_size(), f.dirty.iterative_size(), f.swapped.iterative_size());
  return o.str();
}

// Replays `t` under `policy` with each store and compares them after every line.
void expect_same_stores(const trace::Trace& t, const std::string& policy) {
  auto pol = make_policy(policy);
  ASSERT_TRUE(pol);
  auto make = [&](std::size_t limit) {
    flat_limit_scope scope(limit);
    return std::make_unique<replayer>(t, *pol);
  };
  auto flat = make(256), trees = make(0), switching = make(3);
  ASSERT_TRUE(flat->k.mm.flat_store());
  ASSERT_FALSE(trees->k.mm.flat_store());
  for (std::size_t i = 0; i < t.lines.size(); ++i) {
    flat->step(t.lines[i]);
    trees->step(t.lines[i]);
    switching->step(t.lines[i]);
    const std::string want = snapshot(trees->k);
    ASSERT_EQ(snapshot(flat->k), want) << policy << ", operation " << i;
    ASSERT_EQ(snapshot(switching->k), want) << policy << ", operation " << i;
    ASSERT_EQ(flat->results.back(), trees->results.back()) << policy << ", operation " << i;
    ASSERT_EQ(switching->results.back(), trees->results.back());
  }
  EXPECT_FALSE(switching->k.mm.flat_store()) << "the switch to the trees was never exercised";
  EXPECT_EQ(flat->ghost.sd.false_negatives, trees->ghost.sd.false_negatives);
  EXPECT_EQ(flat->ghost.sd.false_positives, trees->ghost.sd.false_positives);
}

class MmStore : public ::testing::TestWithParam<std::string> {};

TEST_P(MmStore, EveryOperationGivesTheSameStateWithEitherStore) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    generator_options g;
    g.seed = seed;
    g.pages = 64;
    g.ops = 400;
    g.weights = every_op_weights();
    g.swap = seed % 2 == 0;
    expect_same_stores(generate_trace(g), GetParam());
  }
}

TEST_P(MmStore, TheDroppableMixGivesTheSameStateWithEitherStore) {
  expect_same_stores(generate_trace(droppable_mix(11, 400, 48)), GetParam());
}

INSTANTIATE_TEST_SUITE_P(policies, MmStore, ::testing::ValuesIn(policy_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-' || c == '.') c = '_';
                           return n;
                         });

// The flat helpers on their own: erase trims and splits like ICL's erase, insert_joined joins
// equal neighbours like interval_map's add.
using segs = flat::segments<int, 4>;
std::string text(const segs& s) {
  std::string out;
  for (const auto& g : s) out += fmt::format("[{},{}){} ", g.start, g.end, g.v);
  return out;
}

TEST(FlatSegments, EraseInsideOneSegmentSplitsItKeepingTheValue) {
  segs s{{0, 10, 1}};
  EXPECT_EQ(flat::erase(s, 3, 5), 1u);
  EXPECT_EQ(text(s), "[0,3)1 [5,10)1 ");
}

TEST(FlatSegments, EraseAcrossSegmentsTrimsTheEndsAndDropsTheMiddle) {
  segs s{{0, 4, 1}, {4, 6, 2}, {8, 12, 3}};
  EXPECT_EQ(flat::erase(s, 2, 10), 1u);
  EXPECT_EQ(text(s), "[0,2)1 [10,12)3 ");
}

TEST(FlatSegments, InsertJoinsEqualNeighboursOnBothSides) {
  segs s{{0, 2, 7}, {5, 9, 7}};
  flat::insert_joined(s, flat::erase(s, 2, 5), 2, 5, 7);
  EXPECT_EQ(text(s), "[0,9)7 ");
  flat::insert_joined(s, flat::erase(s, 3, 4), 3, 4, 8);
  EXPECT_EQ(text(s), "[0,3)7 [3,4)8 [4,9)7 ");
}

TEST(FlatSegments, JoinMergesTouchingEqualValuesOnly) {
  segs s{{0, 2, 1}, {2, 4, 1}, {5, 6, 1}, {6, 8, 2}};
  flat::join(s);
  EXPECT_EQ(text(s), "[0,4)1 [5,6)1 [6,8)2 ");
}

}  // namespace
}  // namespace sdmc

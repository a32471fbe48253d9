// The explorer finds every mutant of the catalogue (model/mutant.hpp; issue 3, "The model
// checker": "every mutant below found"). Each search runs the default alphabet of its window
// (plus MAP_DROPPABLE mappings where the mutant is about them), stops at its first violation,
// and breadth-first order makes that a shortest trace. The budget is the bound itself: at most
// 6 operations. The counterexample must fail the same property with the mutant and hold it
// without, so that it is the mutant that is found, not something the model gets wrong anyway.
#include <gtest/gtest.h>

#include <string>

#include "model/policy.hpp"
#include "sim/explorer.hpp"
#include "sim/invariants.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {
namespace {

struct mutant_search {
  mutant m;
  const char* policy;  // a sound design, so that only the mutant can break the property
  unsigned pages;
  const char* extra_ops = "";  // families added to default_ops
  bool precision = false;
  droppable_design droppable = droppable_design::swapbacked;
  const char* expected_what;   // the property it breaks: the start of "what: detail"
};

std::ostream& operator<<(std::ostream& os, const mutant_search& s) { return os << mutant_name(s.m); }

explore_options options(const mutant_search& s, mutant bug) {
  explore_options o;
  o.pages = s.pages;
  o.depth = 6;
  o.ops = std::string(default_ops) + s.extra_ops;
  o.bug = bug;
  o.droppable = s.droppable;
  o.precision = s.precision;
  return o;
}

// Why each needs what it needs, from the bug history:
const mutant_search kSearches[] = {
    // mmap: the new VMA is not VM_SOFTDIRTY and has no PTE: it reads clean.
    {mutant::new_vma_not_soft_dirty, "sticky", 1, "", false, droppable_design::swapbacked,
     "lost new mapping"},
    // mmap: the page-table hole of the new VMA reads clean whatever VM_SOFTDIRTY says.
    {mutant::pte_hole_ignores_vma, "sticky", 1, "", false, droppable_design::swapbacked,
     "lost new mapping"},
    // mmap of page 1: the unmapped page 0 reads page 1's VM_SOFTDIRTY.
    {mutant::gap_uses_next_vma_flag, "sticky", 2, "", false, droppable_design::swapbacked,
     "invariant: pagemap: unmapped"},
    // shared mapping, clear_refs without write-notify: the tracked VMA keeps a writable
    // vm_page_prot, so the write-tracking invariant breaks before any store is lost.
    {mutant::no_writenotify_after_clear, "sticky", 1, "", false, droppable_design::swapbacked,
     "invariant: write tracking"},
    // private page written, cleared, mprotect r-- then rw- maps it writable: a clean page with
    // a writable PTE, where the next store would be lost.
    {mutant::can_change_pte_writable_inverted, "sticky", 1, "", false,
     droppable_design::swapbacked, "invariant: write tracking"},
    // a written private page paged out: its swap entry loses soft-dirty.
    {mutant::swap_loses_soft_dirty, "sticky", 1, "", false, droppable_design::swapbacked,
     "false negative"},
    // a page moved by mremap without move_soft_dirty_pte: the destination is a new mapping
    // (copy_vma never sets VM_SOFTDIRTY, so only the moved PTE can say so) that reads clean.
    {mutant::mremap_move_not_soft_dirty, "sticky", 2, "", false,
     droppable_design::swapbacked, "lost new mapping"},
    // clear_refs covers the VMA with one node; a split drops it: both halves read dirty.
    {mutant::granular_split_drops_node, "granular", 2, "", true,
     droppable_design::swapbacked, "false positive"},
    // the dirty-skip condition true for every VMA: a written shmem page reclaimed as clean.
    {mutant::droppable_dirty_skip_and, "sticky", 1, ",mmap_droppable", false,
     droppable_design::dirty_skip, "invariant: page 0 of memory file"},
};

class explorer_finds : public ::testing::TestWithParam<mutant_search> {};

TEST_P(explorer_finds, the_mutant_with_a_shortest_trace_that_holds_without_it) {
  const mutant_search& s = GetParam();
  auto pol = make_policy(s.policy);
  ASSERT_TRUE(pol) << s.policy;

  const explore_result r = explore(*pol, options(s, s.m));
  ASSERT_TRUE(r.violation) << mutant_name(s.m) << ": no violation within " << r.states
                           << " states, depth " << r.depth_done;
  const explore_counterexample& c = *r.violation;
  EXPECT_EQ((c.what + ": " + c.detail).rfind(s.expected_what, 0), 0u) << c.what << ": " << c.detail;
  EXPECT_LE(c.ops.size(), 6u);
  std::string ops;
  for (const trace::Line& l : c.ops) ops += "\n  " + trace::format_line(l);

  // Without the mutant, the same operations from the same initial state reach a state that
  // breaks none of the properties searched for.
  explore_options without = options(s, mutant::none);
  kernel k(*pol, without.swap);
  k.mm.droppable = without.droppable;
  oracle o;
  k.obs = &o;
  for (const trace::Line& l : c.ops) apply_op(k, l);
  const judgement j = o.judge_sd(k);
  EXPECT_TRUE(j.false_negatives.empty()) << "without the mutant too:" << ops;
  EXPECT_TRUE(j.lost_new_mappings.empty()) << "without the mutant too:" << ops;
  if (s.precision) {
    EXPECT_TRUE(j.false_positives.empty()) << "without the mutant too:" << ops;
  }
  // The structural invariants, write tracking and shared-memory data among them.
  EXPECT_EQ(check_invariants(k), std::nullopt) << "without the mutant too:" << ops;

  // And the counterexample trace carries the results the mutated model computes.
  const trace::Trace t = counterexample_trace(*pol, options(s, s.m), c.ops);
  EXPECT_EQ(t.lines.size(), c.ops.size());
  std::cout << mutant_name(s.m) << ": " << c.what << " (" << c.detail << ") after " << c.ops.size() << " operations, "
            << r.states << " states:" << ops << "\n";
}

INSTANTIATE_TEST_SUITE_P(mutant_catalogue, explorer_finds, ::testing::ValuesIn(kSearches),
                         [](const auto& info) {
                           std::string n(mutant_name(info.param.m));
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(explorer_finds_every_mutant, the_table_covers_the_catalogue) {
  for (const mutant_info& i : mutant_catalogue) {
    bool covered = false;
    for (const mutant_search& s : kSearches) covered |= s.m == i.m;
    EXPECT_TRUE(covered) << i.name << " has no explorer search";
  }
}

}  // namespace
}  // namespace sdmc

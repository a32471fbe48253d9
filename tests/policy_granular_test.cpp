// The granular policy: the Dec 2022 non_sd_reg RFC (VM_SOFTDIRTY replaced by per-VMA lists of
// clean sub-ranges), and its granular-coalesce variant. Expected values follow the RFC's
// rules as issue 3 states them: clear_refs makes one node per VMA, a split cuts the straddling
// node, a merge concatenates lists and leaves a new range uncovered, a move carries the nodes.
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

std::vector<non_sd_reg> nodes_at(scenario& s, u64 addr) {
  auto it = s.k.mm.non_sd_regs.find(s.vma(addr).v.vma_id);
  return it == s.k.mm.non_sd_regs.end() ? std::vector<non_sd_reg>{} : it->second;
}

non_sd_reg node(u64 start, u64 end) { return non_sd_reg{pfn(start), pfn(end)}; }

TEST(granular, a_new_vma_has_no_node_and_reads_dirty_until_clear_refs_covers_it) {
  scenario s{under{"granular"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 4, "rw-");
  EXPECT_TRUE(nodes_at(s, a).empty());
  s.expect_sd(a, "1111");
  s.write(a + ps);
  s.clear_refs();
  EXPECT_EQ(nodes_at(s, a), (std::vector{node(a, a + 4 * ps)}));
  s.expect_sd(a, "0000");
  s.write(a + 2 * ps);  // covered: the write faults (tracking enabled) and sets the PTE bit
  s.expect_sd(a, "0010");
  EXPECT_EQ(s.ghost.sd, oracle_counts{});
}

TEST(granular, a_split_cuts_the_straddling_node_and_a_merge_concatenates_without_coalescing) {
  scenario s{under{"granular"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 4, "rw-");
  s.clear_refs();
  s.mprotect(a + ps, 2, "r--");  // two splits: the one node becomes three
  EXPECT_EQ(nodes_at(s, a), (std::vector{node(a, a + ps)}));
  EXPECT_EQ(nodes_at(s, a + ps), (std::vector{node(a + ps, a + 3 * ps)}));
  EXPECT_EQ(nodes_at(s, a + 3 * ps), (std::vector{node(a + 3 * ps, a + 4 * ps)}));
  s.mprotect(a + ps, 2, "rw-");  // merges back into one VMA: the lists are concatenated
  s.expect_vmas(a, 4, 1);
  EXPECT_EQ(nodes_at(s, a), (std::vector{node(a, a + ps), node(a + ps, a + 3 * ps),
                                         node(a + 3 * ps, a + 4 * ps)}));
  // Three in this VMA plus one in each half of the guard: the RFC's list growth (review, D2).
  EXPECT_EQ(s.k.pol().non_sd_reg_nodes(s.k.mm), 5u);
  s.expect_sd(a, "0000");
}

TEST(granular_coalesce, joins_touching_nodes_after_the_merge) {
  scenario s{under{"granular-coalesce"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 4, "rw-");
  s.clear_refs();
  s.mprotect(a + ps, 2, "r--");
  s.mprotect(a + ps, 2, "rw-");
  EXPECT_EQ(nodes_at(s, a), (std::vector{node(a, a + 4 * ps)}));
  EXPECT_EQ(s.k.pol().non_sd_reg_nodes(s.k.mm), 3u);  // one here, one in each guard half
  s.expect_sd(a, "0000");
}

TEST(granular, a_new_range_merged_into_a_clean_vma_stays_uncovered) {
  // Rule 1 of the semantics (mm/mmap.c:__mmap_region marks the whole merged VMA): upstream
  // over-reports the old clean pages; granular reports exactly the new ones.
  for (const char* policy : {"upstream-6.12", "granular"}) {
    scenario s{under{policy}};
    const u64 g = s.guard(8), a = g + ps;
    s.mmap(a, 2, "rw-");
    s.write(a, 2);
    s.clear_refs();
    s.mmap(a + 2 * ps, 2, "rw-");
    s.expect_vmas(a, 4, 1);
    s.finish();
    if (std::string(policy) == "granular") {
      s.expect_sd(a, "0011");
      EXPECT_EQ(s.ghost.sd, oracle_counts{});
    } else {
      s.expect_sd(a, "1111");
      EXPECT_EQ(s.ghost.sd.false_positives, 2u);
    }
  }
}

TEST(granular, mremap_move_carries_the_nodes_shifted_and_a_grown_tail_is_uncovered) {
  scenario s{under{"granular"}};
  const u64 g = s.guard(32), a = g + ps, b = g + 16 * ps;
  s.mmap(a, 4, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  EXPECT_EQ(s.mremap_fixed(a, 4, 6, b), ok(b));
  // move_ptes marks the moved present PTEs soft-dirty (mm/mremap.c:move_soft_dirty_pte); the
  // two unpopulated pages stay covered (clean), the grown tail is new and uncovered.
  EXPECT_EQ(nodes_at(s, b), (std::vector{node(b, b + 4 * ps)}));
  s.expect_sd(b, "110011");
  s.finish();
  EXPECT_EQ(s.ghost.sd.false_negatives, 0u);
  EXPECT_EQ(s.ghost.sd.lost_new_mappings, 0u);
}

TEST(granular, mremap_grow_in_place_reads_the_tail_dirty_where_vma_flag_designs_read_clean) {
  // mm/vma.c:vma_merge_extend keeps the VMA's own flags: under every design that keeps the
  // bit in the VMA the tail reads clean (a kernel gap); granular leaves it uncovered.
  for (const char* policy : {"sticky", "granular"}) {
    scenario s{under{policy}};
    const u64 g = s.guard(16), a = g + ps;
    s.mmap(a, 2, "rw-");
    s.munmap(a + 2 * ps, 2);  // room to grow in place
    s.clear_refs();
    EXPECT_EQ(s.mremap(a, 2, 4), ok(a));
    s.finish();
    if (std::string(policy) == "granular") {
      s.expect_sd(a, "0011");
      EXPECT_EQ(s.ghost.sd.kernel_gaps, 0u);
    } else {
      s.expect_sd(a, "0000");
      EXPECT_EQ(s.ghost.sd.kernel_gaps, 2u);
      EXPECT_EQ(s.ghost.sd.lost_new_mappings, 0u);
    }
  }
}

TEST(granular, write_notify_follows_coverage_on_a_shared_mapping) {
  scenario s{under{"granular"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 2, "rw-", "shared fixed");
  // No node: vm_page_prot may be writable (mm/vma.c:vma_wants_writenotify has no reason).
  EXPECT_TRUE(s.vma(a).v.page_prot_write);
  s.write(a, 2);
  s.clear_refs();
  // Covered: write-notify is back, so the next store faults and sets the PTE bit.
  EXPECT_FALSE(s.vma(a).v.page_prot_write);
  s.read(a + ps);
  s.write(a + ps);
  s.expect_sd(a, "01");
  s.finish();
  EXPECT_EQ(s.ghost.sd, oracle_counts{});
}

TEST(granular, a_move_that_merges_hands_its_nodes_over_with_write_notify) {
  // Found by the explorer's write-tracking invariant: copy_vma merges the moved, clean and
  // never-faulted shared page into a neighbour with no node (writable vm_page_prot), and
  // on_move then gives that neighbour its first node, after the merge. Without recomputing
  // vm_page_prot the read maps the page writable and the store leaves no trace
  // (kernel/tests/granular/mremap-merge-stale-prot.sdt, the same on the granular kernel).
  scenario s{under{"granular"}};
  const u64 g = s.guard(8), a = g + ps, c = g + 3 * ps;
  s.mmap(a, 1, "rw-", "shared file=m@0 fixed");
  EXPECT_EQ(s.mremap_fixed(a, 1, 1, c), ok(c));
  s.clear_refs();
  s.mmap(a, 2, "rw-", "shared file=m@0 fixed");
  EXPECT_TRUE(s.vma(a).v.page_prot_write);  // no node: nothing to track
  EXPECT_EQ(s.mremap_fixed(c, 1, 1, a), ok(a));
  s.expect_vmas(a, 2, 1);
  EXPECT_EQ(nodes_at(s, a), (std::vector{node(a, a + ps)}));
  EXPECT_FALSE(s.vma(a).v.page_prot_write);
  s.read(a);
  s.write(a);
  s.expect_sd(a, "11");
  s.finish();
  EXPECT_EQ(s.ghost.sd.false_negatives, 0u);
}

TEST(granular, munmap_frees_the_lists_of_the_vmas_it_removes) {
  scenario s{under{"granular"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 4, "rw-");
  s.clear_refs();
  s.munmap(a + ps, 2);
  EXPECT_EQ(nodes_at(s, a), (std::vector{node(a, a + ps)}));
  EXPECT_EQ(nodes_at(s, a + 3 * ps), (std::vector{node(a + 3 * ps, a + 4 * ps)}));
  // The guard's own list (it was cleared too) and the two halves: nothing for the freed VMA.
  EXPECT_EQ(s.k.mm.non_sd_regs.size(), 4u);
  EXPECT_EQ(s.k.pol().extra_metadata_bytes(s.k.mm), s.k.mm.map_count() * 16 + 4 * 32);
}

TEST(granular, the_split_mutant_drops_the_straddling_node_and_over_reports) {
  scenario s{under{"granular"}};
  s.k.mm.bug = mutant::granular_split_drops_node;
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 4, "rw-");
  s.clear_refs();
  s.mprotect(a + 2 * ps, 2, "r--");
  s.expect_sd(a, "1111");  // never written since clear_refs: four false positives
  s.finish();
  EXPECT_EQ(s.ghost.sd.false_positives, 4u);
}

}  // namespace
}  // namespace sdmc::test

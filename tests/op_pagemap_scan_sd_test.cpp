// PAGEMAP_SCAN's PAGE_IS_SOFT_DIRTY ("sdscan"), page by page, next to pagemap bit 55.
// 6.12 (fs/proc/task_mmu.c): pagemap_scan_test_walk puts VM_SOFTDIRTY into the VMA's category,
// which every walked page of the VMA gets (pagemap_scan_pmd_entry's loop, pte_none included;
// pagemap_scan_pte_hole where there is no PTE table); pagemap_page_category adds
// pte_soft_dirty / pte_swp_soft_dirty; only VMAs are walked. pte_to_pagemap_entry and
// pagemap_pte_hole apply the same rules to bit 55, so the two agree. The granular series
// decides the VMA's part per address from the non_sd_reg nodes (patch 0007:
// pagemap_scan_vma_soft_dirty, nsdr_soft_dirty_run), as bit 55 (patch 0005).
#include "sim/generator.hpp"
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(pagemap_scan_sd, vm_softdirty_reaches_holes_and_pte_none_and_the_pte_bit_the_rest) {
  scenario s;
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 4, "rw-");
  // No PTE table yet: pagemap_scan_pte_hole reports cur_vma_category, VM_SOFTDIRTY set by
  // __mmap_region.
  s.expect_sdscan(a, "1111");
  s.write(a);
  // A table now: a's PTE is soft-dirty, the other three are pte_none and get VM_SOFTDIRTY
  // from the VMA category (pagemap_page_category returns PAGE_IS_WRITTEN alone for them).
  s.expect_sdscan(a, "1111");
  s.clear_refs();
  s.expect_sdscan(a, "0000");
  s.write(a + 2 * ps);
  s.expect_sdscan(a, "0010");
  s.expect_sd(a, "0010");
}

TEST(pagemap_scan_sd, a_merge_that_sets_vm_softdirty_makes_the_whole_vma_soft_dirty) {
  // Rule 1 of the semantics (__mmap_region marks the merged VMA): the scan reads it as bit 55.
  scenario s;
  const u64 g = s.guard(12), a = g + ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.mmap(a + 2 * ps, 2, "rw-");
  s.expect_vmas(a, 4, 1);
  s.expect_sdscan(a, "1111");
  s.expect_sd(a, "1111");
}

TEST(pagemap_scan_sd, swap_entries_carry_their_own_bit) {
  // try_to_unmap_one keeps the PTE's soft-dirty in _PAGE_SWP_SOFT_DIRTY; pagemap_page_category
  // reads it with pte_swp_soft_dirty.
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  EXPECT_EQ(s.reclaim(a, 2), ok(0));
  s.expect_swapped(a, "11");
  s.expect_sdscan(a, "10");
  s.expect_sd(a, "10");
}

TEST(pagemap_scan_sd, uffd_wp_markers_are_swap_entries_without_the_bit) {
  // make_pte_marker(PTE_MARKER_UFFD_WP) has no _PAGE_SWP_SOFT_DIRTY; is_swap_pte() holds, so
  // pagemap_page_category takes the swap branch and adds nothing but the VMA's category.
  scenario s;
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 2, "rw-");
  s.clear_refs();
  s.uffd_wp(a, 2);
  s.expect_swapped(a, "11");
  s.expect_uffd_wp(a, "11");
  s.expect_sdscan(a, "00");
  s.expect_sd(a, "00");
}

TEST(pagemap_scan_sd, nothing_outside_a_vma) {
  // walk_page_range calls pagemap_scan_pte_hole without a VMA for a gap: it returns 0.
  scenario s;
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 1, "rw-");
  s.mmap(a + 2 * ps, 1, "rw-");
  s.munmap(a + ps, 1);
  s.expect_sdscan(a, "101");
  s.expect_sd(a, "101");
}

TEST(pagemap_scan_sd, a_vm_pfnmap_vma_reads_vm_softdirty_in_pagemap_and_nothing_in_a_scan) {
  // The one place 6.12's answers part. walk_page_test gives a VM_PFNMAP VMA to pagemap's
  // pte_hole whole (VM_SOFTDIRTY, no PTE read); pagemap_scan_test_walk returns 1 for it, so
  // the scan reports none of its pages, in any category. The kernel's [vvar] is such a VMA
  // (VM_PFNMAP | VM_IO, and VM_SOFTDIRTY from __install_special_mapping); no trace can make
  // one, so the flag is set by hand.
  scenario s;
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 2, "r--");
  s.k.mm.find_vma_mut(pfn(a))->v->vm_flags |= VM_PFNMAP | VM_IO;
  s.expect_flags(a, VM_SOFTDIRTY);
  s.expect_sd(a, "11");
  s.expect_sdscan(a, "00");
  s.expect_written(a, "00");
  EXPECT_EQ(s.scan(a, 2), ok(0));
  s.clear_refs();
  s.expect_sd(a, "00");
}

TEST(pagemap_scan_sd, the_pagemap_hole_mutants_change_bit_55_but_not_the_scan) {
  // PAGEMAP_SCAN (6.7) has its own hole callback, written after both pagemap_pte_hole fixes:
  // before v3.17 a range without a table read clean in pagemap, and before 62c98294410d a gap
  // took the next VMA's VM_SOFTDIRTY. Here bit 55 and PAGE_IS_SOFT_DIRTY part.
  {
    scenario s;
    s.k.mm.bug = mutant::pte_hole_ignores_vma;
    const u64 g = s.guard(8), a = g + ps;
    s.mmap(a, 2, "rw-");
    s.expect_sd(a, "00");
    s.expect_sdscan(a, "11");
  }
  {
    scenario s;
    s.k.mm.bug = mutant::gap_uses_next_vma_flag;
    const u64 g = s.guard(8), a = g + ps;
    s.munmap(a, 1);
    s.expect_sd(a, "1");      // the guard's upper part, above the gap, is VM_SOFTDIRTY
    s.expect_sdscan(a, "0");
  }
}

TEST(pagemap_scan_sd, granular_a_hole_cut_by_a_node_is_reported_per_address) {
  // clear_refs covers the first VMA; an mmap merges a new range into it, which no node covers.
  // Nothing was touched: no PTE table, one hole across the node's end
  // (pagemap_scan_pte_hole cuts it into runs, patch 0007). Upstream marks the merged VMA.
  for (const char* policy : {"granular", "upstream-6.12"}) {
    SCOPED_TRACE(policy);
    scenario s{under{policy}};
    const u64 g = s.guard(12), a = g + ps;
    s.mmap(a, 4, "rw-");
    s.clear_refs();
    s.mmap(a + 4 * ps, 4, "rw-");
    s.expect_vmas(a, 8, 1);
    const char* want = std::string_view(policy) == "granular" ? "00001111" : "11111111";
    s.expect_sdscan(a, want);
    s.expect_sd(a, want);
    s.expect_present(a, "00000000");
  }
}

TEST(granular, a_scan_reads_the_covered_part_of_a_partly_new_vma_clean) {
  // The RFC (and the series up to patch 0006) took PAGE_IS_SOFT_DIRTY for the whole VMA from
  // "is any of it uncovered", which would read all six pages of Y soft-dirty. Per address,
  // inside one PTE table: pte_none and clean PTEs under a node read 0, Y's new part 1.
  scenario s{under{"granular"}};
  const u64 g = s.guard(16), a = g + ps;
  s.mmap(a, 4, "rw-");
  s.madvise(a, 4, "random");
  s.clear_refs();
  s.mmap(a + 4 * ps, 4, "rw-");  // VM_RAND_READ differs: a VMA of its own, no node
  s.write(a + 5 * ps);
  // madvise of X's upper half: split, then vma_merge_existing_range merges it into Y (X has no
  // anon_vma, so is_mergeable_anon_vma agrees), which is handed the node piece [a+2p, a+4p)
  // (patch 0002, nsdr_transfer).
  s.madvise(a + 2 * ps, 2, "normal");
  s.expect_vma(a, a, a + 2 * ps);
  s.expect_vma(a + 2 * ps, a + 2 * ps, a + 8 * ps);
  s.expect_sdscan(a, "00001111");
  s.expect_sd(a, "00001111");
  s.write(a + 3 * ps);  // covered: write-notify faults and sets the PTE bit
  s.expect_sdscan(a, "00011111");
  s.expect_sd(a, "00011111");
}

TEST(uffd_wp, the_scan_s_soft_dirty_is_written_like_bit_55) {
  // The design's consumer asks PAGE_IS_WRITTEN wherever it would ask soft-dirty; the kernel's
  // own category would be VM_SOFTDIRTY everywhere (the consumer never writes clear_refs).
  scenario s{under{"uffd-wp"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 3, "rw-");
  s.write(a + ps);
  s.expect_sdscan(a, "010");
  EXPECT_EQ(s.sdscan(a, 3), s.written(a, 3));
  s.clear_refs();
  s.expect_sdscan(a, "000");
}

TEST(pagemap_scan_sd, agrees_with_bit_55_after_every_operation_of_random_traces) {
  // What both observers check on the kernel, here for every design the model has.
  for (const std::string& name : policy_names()) {
    SCOPED_TRACE(name);
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      generator_options opt;
      opt.seed = seed;
      opt.pages = 64;
      opt.ops = 150;
      opt.swap = seed % 2 == 0;
      opt.weights = every_op_weights();
      trace::Trace t = generate_trace(opt);
      auto pol = make_policy(name);
      replay_options ro;
      ro.oracle = false;
      ro.expectations_are_failures = ro.results_are_failures = false;
      replayer r(t, *pol, ro);
      const pfn_t s = pfn(opt.base), e = s + opt.pages;
      for (const trace::Line& l : t.lines) {
        r.step(l);
        const pset sd = r.k.soft_dirty_pages(s, e), scan = r.k.scan_soft_dirty_pages(s, e);
        ASSERT_EQ(sd, scan) << "seed " << seed << " after line " << l.lineno << ": "
                            << trace::format_line(l);
      }
    }
  }
}

}  // namespace
}  // namespace sdmc::test

// munmap: mm/vma.c:do_vmi_munmap, __split_vma, and mm/memory.c:free_pgtables
// (kernel-6.12-semantics.md sections 1.2 "munmap, split and mremap keep it", 2.2, 3.4, 8.3
// "munmap", 8.4).
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(munmap, the_middle_page_splits_the_vma_and_both_halves_keep_their_state) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "rw-");
  s.write(a, 3);
  s.clear_refs();
  s.write(a);  // the PTE of a[0] is soft-dirty again

  EXPECT_EQ(s.munmap(a + ps, 1), ok(0));
  s.expect_vmas(a, 3, 2);
  s.expect_vma(a, a, a + ps);
  s.expect_vma(a + 2 * ps, a + 2 * ps, a + 3 * ps);
  // __split_vma copies the VMA (vm_area_dup): both halves are clean, with the same flags.
  EXPECT_EQ(s.flags(a), s.flags(a + 2 * ps));
  s.expect_flags(a, VM_ACCOUNT, VM_SOFTDIRTY);
  // The surviving PTEs are untouched; the hole reads all 0.
  s.expect_sd(a, "100");
  s.expect_present(a, "101");
}

TEST(munmap, split_halves_of_a_softdirty_vma_stay_softdirty) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "rw-");
  s.munmap(a + ps, 1);
  s.expect_flags(a, VM_SOFTDIRTY);
  s.expect_flags(a + 2 * ps, VM_SOFTDIRTY);
  s.expect_sd(a, "101");
}

TEST(munmap, the_pagemap_of_an_unmapped_page_is_all_zero) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.expect_sd(a, "1");
  s.expect_present(a, "1");
  s.munmap(a, 1);
  EXPECT_EQ(s.k.pagemap(pfn(a)), pagemap_entry{});
  s.expect_vmas(a, 1, 0);
}

TEST(munmap, remapping_does_not_bring_back_the_old_ptes) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.munmap(a, 1);
  s.mmap(a, 1, "rw-");
  s.expect_present(a, "0");
  s.clear_refs();
  s.expect_sd(a, "0");  // rule 5: the PTE and its soft-dirty bit went with the unmap
}

TEST(munmap, an_unmapped_range_is_fine) {
  scenario s;
  s.guard(4);
  // do_vmi_munmap: nothing to unmap is success.
  EXPECT_EQ(s.munmap(G + 64 * ps, 4), ok(0));
  s.expect_vmas(G, 4, 1);
}

TEST(munmap, unaligned_start_or_zero_length_is_einval) {
  scenario s;
  const u64 g = s.guard(4);
  // do_vmi_munmap: offset_in_page(start) -> -EINVAL; len == 0 after PAGE_ALIGN -> -EINVAL.
  EXPECT_EQ(s.op(line("munmap {} 1p", g + ps + 1)), err(EINVAL));
  EXPECT_EQ(s.op(line("munmap {} 0", g + ps)), err(EINVAL));
  s.expect_vmas(g, 4, 1);
  // An unaligned length is rounded up.
  EXPECT_EQ(s.op(line("munmap {} 1", g + 3 * ps)), ok(0));
  s.expect_vma(g, g, g + 3 * ps);
}

TEST(munmap, a_range_over_several_vmas_and_holes_removes_them_all) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + 2 * ps, 1, "rw-");
  s.munmap(g + 4 * ps, 1);
  s.expect_vmas(g, 8, 4);  // guard, a, guard, hole, guard
  EXPECT_EQ(s.munmap(g + ps, 6), ok(0));
  s.expect_vmas(g, 8, 2);
  s.expect_vma(g, g, g + ps);
  s.expect_vma(g + 7 * ps, g + 7 * ps, g + 8 * ps);
}

TEST(munmap, frees_a_page_table_only_when_no_vma_is_left_in_its_2mib_span) {
  // Semantics 8.4 and rule 10: a PTE table is freed only when munmap leaves no VMA
  // intersecting its span (free_pgtables floor/ceiling); in an existing table pte_none reads
  // PAGE_IS_WRITTEN (pagemap_page_category:2105-2117), a hole without a table does not
  // (pagemap_scan_pte_hole:2729-2731). No guard here, so that the span can become empty.
  scenario s;
  const u64 a = G, b = G + 4 * ps;
  s.mmap(a, 2, "rw-", "private");
  s.mmap(b, 1, "rw-", "private");
  s.expect_written(a, "00");  // no table yet
  s.write(a);
  s.expect_written(a, "11");
  s.expect_written(b, "1");

  s.munmap(a, 2);  // b still intersects the span: the table stays
  s.expect_written(b, "1");
  s.munmap(b, 1);  // nothing left in the span: free_pgd_range frees the table
  s.mmap(a, 2, "rw-", "private");
  s.expect_written(a, "00");
  s.expect_present(a, "00");
}

}  // namespace
}  // namespace sdmc::test

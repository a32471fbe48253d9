// madvise: mm/madvise.c (do_madvise, madvise_walk_vmas, madvise_vma_behavior,
// madvise_update_vma, madvise_dontneed_single_vma, madvise_free_pte_range, madvise_pageout,
// madvise_remove) -- kernel-6.12-semantics.md sections 2.3 madvise row, 3.4, 7, 8.3 "madvise".
// MADV_PAGEOUT is also `reclaim ADDR LEN` (op_reclaim_test.cpp).
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(madvise, dontneed_zaps_the_ptes_and_their_soft_dirty_bits) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  s.expect_sd(a, "10");
  EXPECT_EQ(s.madvise(a, 2, "dontneed"), ok(0));
  // zap_pte_range: the PTEs become pte_none, SD lost; the VMA is untouched.
  s.expect_present(a, "00");
  s.expect_sd(a, "00");
  s.expect_vmas(a, 2, 1);
  // anon: the data is gone, a read maps the zero page.
  s.read(a);
  s.expect_present(a, "10");
  s.expect_exclusive(a, "00");
  s.expect_sd(a, "00");
}

TEST(madvise, dontneed_on_a_locked_vma_is_einval) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.mlock(a, 1);
  // madvise_dontneed_free_valid_vma: VM_LOCKED -> -EINVAL (MADV_DONTNEED_LOCKED exists for it).
  EXPECT_EQ(s.madvise(a, 1, "dontneed"), err(EINVAL));
  s.expect_present(a, "1");
}

TEST(madvise, a_hole_in_the_range_is_enomem_but_the_mapped_part_is_advised) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 2 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.munmap(a + ps, 1);
  // madvise_walk_vmas: holes are skipped and reported as -ENOMEM at the end.
  EXPECT_EQ(s.madvise(a, 2, "dontneed"), err(ENOMEM));
  s.expect_present(a, "0");
  EXPECT_EQ(s.madvise(g + 64 * ps, 1, "dontneed"), err(ENOMEM));
}

TEST(madvise, unaligned_start_is_einval_and_zero_length_is_a_no_op) {
  scenario s;
  const u64 g = s.guard(8);
  // do_madvise: PAGE_ALIGNED(start) else -EINVAL; end == start -> 0.
  EXPECT_EQ(s.op(line("madvise {} 1p dontneed", g + ps + 1)), err(EINVAL));
  EXPECT_EQ(s.op(line("madvise {} 0 dontneed", g + 64 * ps)), ok(0));
}

TEST(madvise, free_keeps_present_ptes_and_soft_dirty_until_reclaim_drops_them) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  EXPECT_EQ(s.madvise(a, 2, "free"), ok(0));
  // madvise_free_pte_range:765-779: clean + old, still present, SD kept; the folio is lazyfree.
  s.expect_present(a, "11");
  s.expect_sd(a, "10");
  // try_to_unmap_one:1885-1895: a clean lazyfree folio is discarded; the PTE becomes none.
  s.reclaim(a, 2);
  s.expect_present(a, "00");
  s.expect_swapped(a, "00");
  s.expect_sd(a, "00");
}

TEST(madvise, a_store_after_free_redirties_the_page_and_reclaim_keeps_it) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.madvise(a, 1, "free");
  EXPECT_TRUE(s.pte(a).write);  // MADV_FREE leaves the PTE writable
  s.write(a);                   // no fault: only the hardware dirty bit
  s.reclaim(a, 1);
  // try_to_unmap_one: a dirty lazyfree folio is made swap-backed again and stays mapped.
  s.expect_present(a, "1");
}

TEST(madvise, free_on_a_swapped_page_clears_the_swap_entry_at_once) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  s.write(a);
  s.reclaim(a, 1);
  s.expect_swapped(a, "1");
  s.expect_sd(a, "1");
  // madvise_free_pte_range:687-702: free_swap_and_cache_nr + clear_not_present_full_ptes.
  EXPECT_EQ(s.madvise(a, 1, "free"), ok(0));
  s.expect_swapped(a, "0");
  s.expect_present(a, "0");
  s.expect_sd(a, "0");
}

TEST(madvise, free_on_anything_but_anonymous_memory_is_einval) {
  scenario s;
  const u64 g = s.guard(16);
  s.mmap(g + 1 * ps, 1, "rw-", "shared fixed");
  s.mmap(g + 3 * ps, 1, "rw-", "shared file=m@0 fixed");
  s.mmap(g + 5 * ps, 1, "rw-", "private file=m@0 fixed");
  // madvise_free_single_vma:805-806: if (!vma_is_anonymous(vma)) return -EINVAL.
  EXPECT_EQ(s.madvise(g + 1 * ps, 1, "free"), err(EINVAL));
  EXPECT_EQ(s.madvise(g + 3 * ps, 1, "free"), err(EINVAL));
  EXPECT_EQ(s.madvise(g + 5 * ps, 1, "free"), err(EINVAL));
  s.mmap(g + 7 * ps, 1, "rw-", "droppable fixed");
  EXPECT_EQ(s.madvise(g + 7 * ps, 1, "free"), ok(0));  // droppable is anonymous
}

TEST(madvise, pageout_on_a_locked_vma_is_einval) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.mlock(a, 1);
  // can_madv_lru_vma: VM_LOCKED | VM_PFNMAP | VM_HUGETLB -> -EINVAL.
  EXPECT_EQ(s.madvise(a, 1, "pageout"), err(EINVAL));
  EXPECT_EQ(s.madvise(a, 1, "cold"), err(EINVAL));
  s.expect_present(a, "1");
  s.expect_swapped(a, "0");
}

TEST(madvise, cold_and_willneed_change_no_bit) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a);
  s.clear_refs();
  s.write(a);
  EXPECT_EQ(s.madvise(a, 2, "cold"), ok(0));
  EXPECT_EQ(s.madvise(a, 2, "willneed"), ok(0));
  s.expect_present(a, "10");
  s.expect_swapped(a, "00");
  s.expect_sd(a, "10");
  s.expect_vmas(a, 2, 1);
}

TEST(madvise, remove_punches_the_memfd_and_zaps_every_mapping_of_it) {
  scenario s;
  const u64 g = s.guard(16);
  const u64 m1 = g + 1 * ps, m2 = g + 4 * ps;
  s.mmap(m1, 1, "rw-", "shared file=m@0 fixed");
  s.mmap(m2, 1, "rw-", "shared file=m@0 fixed");
  s.write(m1);
  s.read(m2);
  s.expect_present(m1, "1");
  s.expect_present(m2, "1");
  s.expect_exclusive(m1, "0");  // the page-cache page is mapped twice
  // madvise_remove -> vfs_fallocate(PUNCH_HOLE): the page leaves the page cache and every
  // mapping of it.
  EXPECT_EQ(s.madvise(m1, 1, "remove"), ok(0));
  s.expect_present(m1, "0");
  s.expect_present(m2, "0");
}

TEST(madvise, remove_needs_a_shared_writable_file_mapping) {
  scenario s;
  const u64 g = s.guard(16);
  s.mmap(g + 1 * ps, 1, "rw-");
  s.mmap(g + 3 * ps, 1, "r--", "shared file=ro@0 ro fixed");
  // madvise_remove: no vm_file -> -EINVAL; !vma_is_shared_maywrite -> -EACCES.
  EXPECT_EQ(s.madvise(g + 1 * ps, 1, "remove"), err(EINVAL));
  EXPECT_EQ(s.madvise(g + 3 * ps, 1, "remove"), err(EACCES));
}

TEST(madvise, flag_advice_splits_and_merges_vmas) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "rw-");
  // madvise_update_vma -> vma_modify_flags_name: split off the middle page ...
  EXPECT_EQ(s.madvise(a + ps, 1, "random"), ok(0));
  s.expect_vmas(a, 3, 3);
  s.expect_flags(a + ps, VM_RAND_READ, VM_SEQ_READ);
  s.madvise(a + ps, 1, "sequential");
  s.expect_flags(a + ps, VM_SEQ_READ, VM_RAND_READ);
  // ... and merge it back when the flags are equal again.
  s.madvise(a + ps, 1, "normal");
  s.expect_vmas(a, 3, 1);
  s.expect_flags(a, 0, VM_RAND_READ | VM_SEQ_READ);
}

TEST(madvise, each_flag_advice_sets_and_clears_its_vm_flag) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.madvise(a, 1, "dontfork");
  s.expect_flags(a, VM_DONTCOPY);
  s.madvise(a, 1, "dofork");
  s.expect_flags(a, 0, VM_DONTCOPY);
  s.madvise(a, 1, "wipeonfork");
  s.expect_flags(a, VM_WIPEONFORK);
  s.madvise(a, 1, "keeponfork");
  s.expect_flags(a, 0, VM_WIPEONFORK);
  s.madvise(a, 1, "dontdump");
  s.expect_flags(a, VM_DONTDUMP);
  s.madvise(a, 1, "dodump");
  s.expect_flags(a, 0, VM_DONTDUMP);
  s.madvise(a, 1, "hugepage");
  s.expect_flags(a, VM_HUGEPAGE, VM_NOHUGEPAGE);
  s.madvise(a, 1, "nohugepage");
  s.expect_flags(a, VM_NOHUGEPAGE, VM_HUGEPAGE);
  // None of them touches VM_SOFTDIRTY of a VMA that does not merge.
  s.expect_flags(a, VM_SOFTDIRTY);
  s.expect_vmas(a, 1, 1);
}

TEST(madvise, wipeonfork_on_a_shared_mapping_is_einval) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + 1 * ps, 1, "rw-", "shared fixed");
  s.mmap(g + 3 * ps, 1, "rw-", "private file=m@0 fixed");
  // madvise_vma_behavior:1085-1089: only private anonymous memory.
  EXPECT_EQ(s.madvise(g + 1 * ps, 1, "wipeonfork"), err(EINVAL));
  EXPECT_EQ(s.madvise(g + 3 * ps, 1, "wipeonfork"), err(EINVAL));
  s.expect_flags(g + ps, 0, VM_WIPEONFORK);
}

TEST(madvise, keeponfork_and_dodump_on_droppable_memory_are_einval) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 d = g + 1 * ps;
  s.mmap(d, 1, "rw-", "droppable fixed");
  // madvise_vma_behavior:1091-1104.
  EXPECT_EQ(s.madvise(d, 1, "keeponfork"), err(EINVAL));
  EXPECT_EQ(s.madvise(d, 1, "dodump"), err(EINVAL));
  s.expect_flags(d, VM_WIPEONFORK | VM_DONTDUMP | VM_DROPPABLE);
}

TEST(madvise, a_flag_merge_takes_the_modified_vmas_soft_dirty) {
  // Section 2.3 madvise row / rule 2: vm_flags_reset(vma, new_flags) with new_flags from the
  // modified VMA: the absorbing neighbour's VM_SOFTDIRTY is lost.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 2 * ps;
  s.mmap(a, 1, "rw-");
  s.madvise(a, 1, "random");
  s.clear_refs();
  s.mmap(b, 1, "rw-");  // fresh; VM_RAND_READ differs, so no merge at mmap
  s.expect_vmas(a, 2, 2);
  s.expect_sd(a, "01");
  s.madvise(a, 1, "normal");
  s.expect_vmas(a, 2, 1);
  s.expect_flags(a, 0, VM_SOFTDIRTY);
  s.expect_sd(a, "00");
}

TEST(madvise, a_faulted_vma_does_not_merge_into_an_unfaulted_neighbour) {
  // mm/vma.c:is_mergeable_anon_vma: when exactly one side has an anon_vma, the EXISTING
  // neighbour's anon_vma_chain must be singular; an unfaulted neighbour's chain is empty.
  scenario s;
  const u64 g = s.guard(8);
  const u64 x = g + 1 * ps, y = g + 2 * ps;
  s.mmap(x, 1, "rw-");
  s.write(x);
  s.madvise(x, 1, "random");
  s.clear_refs();
  s.mmap(y, 1, "rw-");
  s.madvise(x, 1, "normal");
  s.expect_vmas(x, 2, 2);
  s.expect_sd(x, "01");
}

TEST(madvise, a_flag_merge_spreads_the_modified_vmas_soft_dirty) {
  // Section 2.3 madvise row, "SD-set range merging into SD-clear neighbour": the merged VMA
  // gets the modified VMA's new_flags, VM_SOFTDIRTY included.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 2 * ps;
  s.mmap(a, 1, "rw-");
  s.madvise(a, 1, "dontdump");
  s.clear_refs();
  s.mmap(b, 1, "rw-");          // fresh, soft-dirty; VM_DONTDUMP differs: no merge
  s.expect_vmas(a, 2, 2);
  s.madvise(b, 1, "dontdump");  // b merges into a (prev); b's flags win
  s.expect_vmas(a, 2, 1);
  s.expect_flags(a, VM_DONTDUMP | VM_SOFTDIRTY);
  s.expect_sd(a, "11");
}

TEST(madvise, dontneed_drops_private_file_copies_and_the_file_page_comes_back) {
  // Section 8.3 madvise DONTNEED: "private-file COW copies are lost and the file content
  // comes back".
  scenario s;
  const u64 g = s.guard(8);
  const u64 p = g + ps;
  s.mmap(p, 1, "rw-", "private file=m@0 fixed");
  s.read(p);
  s.write(p);
  s.expect_file(p, "0");  // the COW copy
  s.madvise(p, 1, "dontneed");
  s.expect_present(p, "0");
  s.read(p);
  s.expect_file(p, "1");  // the page-cache page again
}

}  // namespace
}  // namespace sdmc::test

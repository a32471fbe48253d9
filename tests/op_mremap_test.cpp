// mremap: mm/mremap.c (SYSCALL_DEFINE5(mremap), mremap_to, vma_to_resize, move_vma,
// move_page_tables, move_ptes, move_normal_pmd, try_realign_addr) and mm/vma.c (copy_vma,
// vma_merge_extend) -- kernel-6.12-semantics.md sections 1.1 ("paths that create or grow
// address space but do NOT set VM_SOFTDIRTY"), 2.3 mremap rows, 3.1 mremap row, 3.4, 8.3
// "mremap", rule 4. mm/mremap.c never sets VM_SOFTDIRTY; move_ptes marks every moved PTE
// soft-dirty (move_soft_dirty_pte), a whole-table move (move_normal_pmd) keeps PTEs verbatim.
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

constexpr u64 G2 = 0x100010000;  // a second guard reservation, not co-aligned with G's VMAs

TEST(mremap, shrinking_unmaps_the_tail) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 4, "rw-");
  s.write(a, 4);
  EXPECT_EQ(s.mremap(a, 4, 2), ok(a));
  s.expect_vma(a, a, a + 2 * ps);
  s.expect_vmas(a, 4, 1);
  s.expect_present(a, "1100");
  s.expect_sd(a, "1100");  // the tail is outside every VMA: all bits 0
  EXPECT_EQ(s.k.pagemap(pfn(a + 3 * ps)), pagemap_entry{});
}

TEST(mremap, the_same_size_without_flags_returns_the_old_address) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  EXPECT_EQ(s.mremap(a, 2, 2), ok(a));
  s.expect_vma(a, a, a + 2 * ps);
}

TEST(mremap, growing_in_place_gives_the_tail_the_vma_flag_not_soft_dirty) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.munmap(a + ps, 2);
  s.write(a);
  s.clear_refs();
  // vma_merge_extend: the VMA keeps its own flags; nothing sets VM_SOFTDIRTY.
  EXPECT_EQ(s.mremap(a, 1, 2), ok(a));
  s.expect_vma(a, a, a + 2 * ps);
  s.expect_flags(a, VM_ACCOUNT, VM_SOFTDIRTY);
  s.expect_sd(a, "00");
  s.expect_present(a, "10");
  s.write(a + ps);  // the tail is ordinary anon memory: the write fault sets soft-dirty
  s.expect_sd(a, "01");
}

TEST(mremap, growing_in_place_absorbs_next_and_drops_its_soft_dirty) {
  // Section 2.3, "mremap grow in place" row: growing VMA clean, next soft-dirty -> next's SD
  // is lost (vma_merge_new_range keeps the target's flags).
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 3 * ps;
  s.mmap(a, 1, "rw-");  // unfaulted: no anon_vma
  s.clear_refs();
  s.munmap(g + 2 * ps, 1);
  s.mmap(b, 1, "rw-");  // fresh: VM_SOFTDIRTY; not adjacent to a
  s.expect_sd(b, "1");
  EXPECT_EQ(s.mremap(a, 1, 2), ok(a));
  s.expect_vmas(a, 3, 1);
  s.expect_vma(a, a, b + ps);
  s.expect_flags(a, 0, VM_SOFTDIRTY);
  s.expect_sd(a, "000");
}

TEST(mremap, growing_a_soft_dirty_vma_in_place_redirties_an_absorbed_clean_next) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 3 * ps;
  s.mmap(b, 1, "rw-");
  s.clear_refs();      // b clean
  s.mmap(a, 1, "rw-");  // a fresh
  s.munmap(g + 2 * ps, 1);
  EXPECT_EQ(s.mremap(a, 1, 2), ok(a));
  s.expect_vmas(a, 3, 1);
  s.expect_flags(a, VM_SOFTDIRTY);
  s.expect_sd(a, "111");
}

TEST(mremap, growing_without_room_and_without_maymove_is_enomem) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  // vma_expandable fails (the guard follows); without MREMAP_MAYMOVE: -ENOMEM.
  EXPECT_EQ(s.mremap(a, 1, 2), err(ENOMEM));
  s.expect_vma(a, a, a + ps);
}

TEST(mremap, a_move_marks_every_moved_pte_soft_dirty_but_not_pte_none) {
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + 1 * ps, d = G2 + 5 * ps;
  s.mmap(a, 4, "rw-");
  s.write(a);
  s.write(a + 2 * ps);
  s.clear_refs();
  s.expect_sd(a, "0000");

  EXPECT_EQ(s.mremap_fixed(a, 4, 4, d), ok(d));
  s.expect_vmas(a, 4, 0);  // the source is unmapped
  s.expect_vmas(G2, 16, 3);
  s.expect_vma(d, d, d + 4 * ps);
  // a had an anon_vma, so its pgoff is kept and nothing merges: the new VMA is a copy of the
  // source (vm_area_dup), clean. move_soft_dirty_pte marks the two moved PTEs.
  s.expect_flags(d, VM_ACCOUNT, VM_SOFTDIRTY);
  s.expect_sd(d, "1010");
  s.expect_present(d, "1010");
  s.expect_exclusive(d, "1010");
}

TEST(mremap, a_whole_aligned_page_table_is_relinked_and_keeps_its_ptes_verbatim) {
  // Section 3.4, "whole PTE table" row; rule 4 second bullet: move_normal_pmd when source and
  // destination are 2 MiB aligned with a 2 MiB extent (get_extent).
  scenario s;
  const u64 src = 0x200000000, dst = 0x300000000;
  s.mmap(src, 512, "rw-", "private");
  s.madvise(src, 512, "nohugepage");  // section 8.1: no THP
  s.read(src);                         // the zero page
  s.write(src + ps);
  s.clear_refs();
  EXPECT_EQ(s.mremap_fixed(src, 512, 512, dst), ok(dst));
  s.expect_vma(dst, dst, dst + 512 * ps);
  s.expect_sd(dst, "000");
  s.expect_present(dst, "110");
}

TEST(mremap, a_small_move_reaching_a_pmd_boundary_is_realigned_to_a_whole_table_move) {
  // Rule 4: try_realign_addr:542-561 / can_align_down:517-539. Source and destination have the
  // same offset in their 2 MiB blocks, the move reaches the boundary, each starts its VMA and
  // nothing is mapped below them in the block: the first extent is a whole table.
  scenario s;
  const u64 src = 0x200000000 + 508 * ps, dst = 0x300000000 + 508 * ps;
  s.mmap(src, 4, "rw-", "private");
  s.read(src);
  s.clear_refs();
  EXPECT_EQ(s.mremap_fixed(src, 4, 4, dst), ok(dst));
  s.expect_sd(dst, "0000");
  s.expect_present(dst, "1000");

  // The same move to a destination at another offset goes PTE by PTE: the moved zero-page PTE
  // becomes soft-dirty.
  scenario t;
  const u64 dst2 = 0x300000000 + 500 * ps;
  t.mmap(src, 4, "rw-", "private");
  t.read(src);
  t.clear_refs();
  EXPECT_EQ(t.mremap_fixed(src, 4, 4, dst2), ok(dst2));
  t.expect_sd(dst2, "1000");
  t.expect_present(dst2, "1000");
}

TEST(mremap, a_clean_range_moved_next_to_a_soft_dirty_neighbour_becomes_soft_dirty) {
  // Section 2.3 mremap move row, "SD-clear range merging into SD-set neighbour": copy_vma
  // re-bases the unfaulted source to the destination, vma_merge_new_range merges it into the
  // neighbour, whose flags win.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 3 * ps;
  s.mmap(b, 1, "rw-");
  s.clear_refs();        // b clean
  s.mmap(a, 1, "rw-");   // a fresh, soft-dirty
  EXPECT_EQ(s.mremap_fixed(b, 1, 1, g + 2 * ps), ok(g + 2 * ps));
  s.expect_vmas(a, 3, 1);
  s.expect_vma(a, a, a + 2 * ps);
  s.expect_flags(a, VM_SOFTDIRTY | VM_ACCOUNT);
  s.expect_sd(a, "11");
  s.expect_vmas(b, 1, 0);
}

TEST(mremap, a_move_without_fixed_goes_where_the_kernel_chose) {
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + 1 * ps, d = G2 + 32 * ps;  // free space
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  // Growing is impossible in place (the guard follows): MREMAP_MAYMOVE moves to the address
  // get_unmapped_area returned, which the trace records as the result.
  EXPECT_EQ(s.op(line("mremap {} 1p 2p maymove = {}", a, d)), ok(d));
  s.expect_vmas(a, 1, 0);
  s.expect_vma(d, d, d + 2 * ps);
  s.expect_sd(d, "10");
  s.expect_present(d, "10");
}

TEST(mremap, dontunmap_keeps_the_source_vma_without_its_ptes) {
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + 1 * ps, d = G2 + 5 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  EXPECT_EQ(s.op(line("mremap {} 2p 2p maymove dontunmap fixed {}", a, d)), ok(d));
  // move_vma, MREMAP_DONTUNMAP: the source VMA stays (its flags, VM_SOFTDIRTY clear here)
  // with no PTEs; the destination got the PTEs, each marked soft-dirty.
  s.expect_vma(a, a, a + 2 * ps);
  s.expect_present(a, "00");
  s.expect_sd(a, "00");
  s.expect_present(d, "11");
  s.expect_sd(d, "11");
  // move_ptes leaves the source PTE table in place: its pte_none entries read WRITTEN.
  s.expect_written(a, "11");
  s.read(a);  // anon: the source now reads zeros
  s.expect_present(a, "10");
  s.expect_exclusive(a, "00");
}

TEST(mremap, dontunmap_clears_vm_locked_on_the_source_only) {
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + 1 * ps, d = G2 + 5 * ps;
  s.mmap(a, 2, "rw-");
  s.mlock(a, 2);
  EXPECT_EQ(s.op(line("mremap {} 2p 2p maymove dontunmap fixed {}", a, d)), ok(d));
  // "We always clear VM_LOCKED[ONFAULT] on the old vma"; the copy keeps it.
  s.expect_flags(a, 0, VM_LOCKED);
  s.expect_flags(d, VM_LOCKED);
  s.expect_present(d, "11");
}

TEST(mremap, invalid_arguments) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 4 * ps;
  s.mmap(a, 2, "rw-");
  s.munmap(g + 3 * ps, 1);
  // SYSCALL_DEFINE5(mremap): checked in this order.
  EXPECT_EQ(s.op(line("mremap {} 1p 1p maymove", a + 1)), err(EINVAL));       // offset_in_page
  EXPECT_EQ(s.op(line("mremap {} 1p 0", a)), err(EINVAL));                    // !new_len
  EXPECT_EQ(s.op(line("mremap {} 1p 1p fixed {}", a, G2)), err(EINVAL));      // FIXED w/o MAYMOVE
  EXPECT_EQ(s.op(line("mremap {} 1p 1p dontunmap", a)), err(EINVAL));         // DONTUNMAP w/o MAYMOVE
  EXPECT_EQ(s.op(line("mremap {} 1p 2p maymove dontunmap", a)), err(EINVAL)); // size change
  EXPECT_EQ(s.op(line("mremap {} 1p 1p", g + 3 * ps)), err(EFAULT));          // vma_lookup: hole
  EXPECT_EQ(s.op(line("mremap {} 3p 4p maymove", a)), err(EFAULT));           // vma_to_resize
  EXPECT_EQ(s.op(line("mremap {} 2p 2p maymove fixed {}", a, a + ps)), err(EINVAL));  // overlap
  EXPECT_EQ(s.op(line("mremap {} 1p 1p maymove fixed {}", a, G2 + 1)), err(EINVAL));  // unaligned new
  s.expect_vma(a, a, a + 2 * ps);
  s.expect_vmas(g, 8, 3);
}

TEST(mremap, moving_the_middle_of_a_vma_splits_it_and_keeps_the_remnants) {
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + 1 * ps, d = G2 + 5 * ps;
  s.mmap(a, 4, "rw-");
  s.write(a, 4);
  s.clear_refs();
  EXPECT_EQ(s.mremap_fixed(a + ps, 2, 2, d), ok(d));
  // The remnants [a] and [a+3p] keep their flags (VM_ACCOUNT restored by move_vma's
  // account_start/account_end) and PTEs; the moved PTEs are soft-dirty.
  s.expect_vmas(a, 4, 2);
  s.expect_present(a, "1001");
  s.expect_sd(a, "0000");
  s.expect_flags(a, VM_ACCOUNT, VM_SOFTDIRTY);
  s.expect_flags(a + 3 * ps, VM_ACCOUNT, VM_SOFTDIRTY);
  s.expect_vma(d, d, d + 2 * ps);
  s.expect_sd(d, "11");
  s.expect_flags(d, VM_ACCOUNT, VM_SOFTDIRTY);
}

TEST(mremap, a_shrinking_move_unmaps_the_source_tail_first) {
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + 1 * ps, d = G2 + 5 * ps;
  s.mmap(a, 4, "rw-");
  s.write(a, 4);
  s.clear_refs();
  // mremap_to:983-988: old_len > new_len -> the source tail is unmapped, then 2 pages move.
  EXPECT_EQ(s.mremap_fixed(a, 4, 2, d), ok(d));
  s.expect_vmas(a, 4, 0);
  s.expect_vma(d, d, d + 2 * ps);
  s.expect_sd(d, "11");
  s.expect_present(d, "11");
}

TEST(mremap, a_growing_move_leaves_the_new_tail_pte_none_with_the_copied_flag) {
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + 1 * ps, d = G2 + 5 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  EXPECT_EQ(s.mremap_fixed(a, 1, 3, d), ok(d));
  s.expect_vma(d, d, d + 3 * ps);
  // "Destination pages beyond old_len: pte_none"; the VMA is a copy of the clean source.
  s.expect_sd(d, "100");
  s.expect_present(d, "100");
}

TEST(mremap, dontunmap_of_an_unfaulted_vma_to_an_adjacent_address_does_not_self_merge) {
  // copy_vma: "If the original VMA is kept (MREMAP_DONTUNMAP), the source and destination VMA
  // must be treated distinctly. A merge violates this, so in this case disallow a self-merge."
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  EXPECT_EQ(s.op(line("mremap {} 1p 1p maymove dontunmap fixed {}", a, a + ps)), ok(a + ps));
  s.expect_vmas(a, 2, 2);
  s.expect_vma(a, a, a + ps);
  s.expect_vma(a + ps, a + ps, a + 2 * ps);
}

TEST(mremap, a_range_that_does_not_end_at_the_vma_end_cannot_grow_in_place) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  // SYSCALL_DEFINE5(mremap): in-place growth only if old_len == vma->vm_end - addr.
  EXPECT_EQ(s.mremap(a, 1, 2), err(ENOMEM));
  s.expect_vma(a, a, a + 2 * ps);
  // vma_to_resize: old_len == 0 duplicates only shared mappings (a direct call: the would-be
  // destination is passed as the kernel's choice).
  trace::Mremap dup;
  dup.old_addr = a;
  dup.old_len = 0;
  dup.new_len = ps;
  dup.maymove = true;
  EXPECT_EQ(s.k.sys_mremap(dup, G2), err(EINVAL));
  s.expect_vmas(G2, 1, 0);
}

TEST(mremap, a_moved_vma_merging_only_into_next_takes_nexts_flags) {
  // Section 2.3 mremap move row: "With only a right merge, the target is next" -- the moved
  // VMA's VM_SOFTDIRTY is lost (vma_merge_new_range: vmg->vma = next; vma_expand).
  scenario s;
  const u64 r = s.guard(5);
  s.guard(16, G2);
  const u64 b = r + 3 * ps, c = G2 + 5 * ps;
  s.mmap(b, 1, "rw-");
  s.clear_refs();
  s.mmap(c, 1, "rw-");  // fresh, soft-dirty, unfaulted
  EXPECT_EQ(s.mremap_fixed(c, 1, 1, r + 2 * ps), ok(r + 2 * ps));
  s.expect_vmas(r + 2 * ps, 2, 1);
  s.expect_vma(b, r + 2 * ps, b + ps);
  s.expect_flags(b, 0, VM_SOFTDIRTY);
  s.expect_sd(r + 2 * ps, "00");
  s.expect_vmas(c, 1, 0);
}

TEST(mremap, a_clean_range_merging_on_both_sides_into_a_clean_prev_drops_nexts_soft_dirty) {
  // Section 2.3 mremap move row: "with a both-sides merge into a clean prev, next's SD lost".
  scenario s;
  const u64 r = s.guard(5);
  s.guard(16, G2);
  const u64 a = r + ps, b = r + 3 * ps, c = G2 + 5 * ps;
  s.mmap(c, 1, "rw-");
  s.mmap(a, 1, "rw-");
  s.clear_refs();       // a and c clean
  s.mmap(b, 1, "rw-");  // b fresh, soft-dirty
  s.expect_sd(a, "001");
  EXPECT_EQ(s.mremap_fixed(c, 1, 1, r + 2 * ps), ok(r + 2 * ps));
  s.expect_vmas(a, 3, 1);
  s.expect_vma(a, a, b + ps);
  s.expect_flags(a, 0, VM_SOFTDIRTY);
  s.expect_sd(a, "000");
}

TEST(mremap, after_dontunmap_a_shared_source_refaults_the_same_page_cache_page) {
  // Section 8.3: "shared/file mappings refault from the page cache (move_vma:822-848)".
  scenario s;
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 m = g + ps, d = G2 + 5 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.write(m);
  EXPECT_EQ(s.op(line("mremap {} 1p 1p maymove dontunmap fixed {}", m, d)), ok(d));
  s.expect_present(m, "0");
  s.expect_present(d, "1");
  s.expect_exclusive(d, "1");
  s.read(m);
  s.expect_present(m, "1");
  s.expect_file(m, "1");
  s.expect_exclusive(m, "0");  // the page is mapped at m and at d now
  s.expect_exclusive(d, "0");
}

TEST(mremap, a_moved_swap_entry_is_marked_soft_dirty_too) {
  // Section 3.1 mremap row: "Every moved present or swap PTE gets SD=1" (move_soft_dirty_pte:
  // pte_swp_mksoft_dirty for a swap PTE).
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  s.guard(16, G2);
  const u64 a = g + ps, d = G2 + 5 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.reclaim(a, 1);
  s.clear_refs();
  s.expect_sd(a, "0");
  s.expect_swapped(a, "1");
  EXPECT_EQ(s.mremap_fixed(a, 1, 1, d), ok(d));
  s.expect_swapped(d, "1");
  s.expect_sd(d, "1");
}

}  // namespace
}  // namespace sdmc::test

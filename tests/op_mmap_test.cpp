// mmap: mm/mmap.c:do_mmap and __mmap_region (kernel-6.12-semantics.md sections 1.1, 2.1, 2.3,
// 8.3 "mmap"). Every successful mmap sets VM_SOFTDIRTY on the resulting VMA, merged neighbours
// included (__mmap_region:1565-1574); new pages read bit 55 = 1 and nothing else.
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(mmap, new_private_anon_vma_is_softdirty_accounted_and_unpopulated) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;

  EXPECT_EQ(s.mmap(a, 2, "rw-"), ok(a));

  // The guard is split around the new VMA; the flags differ (VM_WRITE, VM_ACCOUNT): no merge.
  s.expect_vmas(g, 8, 3);
  s.expect_vma(a, a, a + 2 * ps);
  // do_mmap: calc_vm_prot_bits | VM_MAY*; __mmap_region: accountable_mapping() adds VM_ACCOUNT
  // to a private writable mapping, then VM_SOFTDIRTY (1572).
  s.expect_flags_exactly(a, VM_READ | VM_WRITE | VM_MAY | VM_ACCOUNT | VM_SOFTDIRTY);
  // The guard pieces are copies of the guard (__split_vma): PROT_NONE is not accounted.
  s.expect_flags_exactly(g, VM_MAY | VM_SOFTDIRTY);
  s.expect_flags_exactly(g + 3 * ps, VM_MAY | VM_SOFTDIRTY);

  // pagemap_pte_hole / pte_none: bit 55 = VM_SOFTDIRTY, everything else 0.
  s.expect_sd(a, "11");
  s.expect_present(a, "00");
  s.expect_swapped(a, "00");
  s.expect_uffd_wp(a, "00");
}

TEST(mmap, length_is_rounded_up_to_whole_pages) {
  scenario s;
  const u64 g = s.guard(8);
  // do_mmap: len = PAGE_ALIGN(len).
  EXPECT_EQ(s.op(line("mmap {} 1 rw- private fixed", g + ps)), ok(g + ps));
  s.expect_vma(g + ps, g + ps, g + 2 * ps);
  EXPECT_EQ(s.op(line("mmap {} 4097 rw- private fixed", g + 4 * ps)), ok(g + 4 * ps));
  s.expect_vma(g + 4 * ps, g + 4 * ps, g + 6 * ps);
}

TEST(mmap, pagemap_of_an_address_outside_every_vma_is_all_zero) {
  scenario s;
  s.guard(4);
  // pagemap_pte_hole with walk->vma == NULL: all 64 bits are 0.
  EXPECT_EQ(s.k.pagemap(pfn(G + 16 * ps)), pagemap_entry{});
  s.expect_sd(G + 16 * ps, "0");
  s.expect_vmas(G + 16 * ps, 4, 0);
}

TEST(mmap, noreplace_over_an_existing_vma_is_eexist_and_changes_nothing) {
  scenario s;
  const u64 g = s.guard(4);
  // do_mmap: MAP_FIXED_NOREPLACE and find_vma_intersection() -> -EEXIST.
  EXPECT_EQ(s.mmap(g + ps, 1, "rw-", "private"), err(EEXIST));
  EXPECT_EQ(s.mmap(g + 3 * ps, 2, "rw-", "private"), err(EEXIST));  // overlaps the guard's tail
  s.expect_vmas(g, 4, 1);
  s.expect_flags_exactly(g, VM_MAY | VM_SOFTDIRTY);
  // Next to the guard the range is free: fine.
  EXPECT_EQ(s.mmap(g + 4 * ps, 1, "rw-", "private"), ok(g + 4 * ps));
}

TEST(mmap, unaligned_address_or_zero_length_is_einval) {
  scenario s;
  const u64 g = s.guard(4);
  // __get_unmapped_area: offset_in_page(addr) -> -EINVAL (NOREPLACE implies MAP_FIXED).
  EXPECT_EQ(s.op(line("mmap {} 1p rw- private fixed", g + ps + 1)), err(EINVAL));
  EXPECT_EQ(s.op(line("mmap {} 1p rw- private", g + 16 * ps + 1)), err(EINVAL));
  // do_mmap: if (!len) return -EINVAL.
  EXPECT_EQ(s.op(line("mmap {} 0 rw- private fixed", g + ps)), err(EINVAL));
  // An unaligned file offset (SYSCALL_DEFINE6(mmap): off & ~PAGE_MASK) -> -EINVAL.
  EXPECT_EQ(s.op(line("mmap {} 1p rw- shared file=m@1 fixed", g + ps)), err(EINVAL));
  s.expect_vmas(g, 4, 1);
  s.expect_sd(g, "1111");
}

TEST(mmap, merge_with_a_clean_prev_sets_vm_softdirty_on_the_whole_vma) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  s.expect_flags(a, 0, VM_SOFTDIRTY);
  s.expect_sd(a, "0");

  // vma_merge_new_range: a is compatible (flags equal but for VM_SOFTDIRTY, a's anon_vma chain
  // is singular, pgoff linear), so a grows; __mmap_region:1572 then marks the whole of it.
  EXPECT_EQ(s.mmap(g + 2 * ps, 1, "rw-"), ok(g + 2 * ps));
  s.expect_vmas(a, 2, 1);
  s.expect_vma(a, a, a + 2 * ps);
  s.expect_flags(a, VM_SOFTDIRTY);
  s.expect_sd(a, "11");
  s.expect_present(a, "10");
}

TEST(mmap, merge_with_prev_and_next_fills_the_gap_with_one_vma) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + 1 * ps, 1, "rw-");
  s.mmap(g + 3 * ps, 1, "rw-");
  s.clear_refs();
  s.expect_vmas(g + ps, 3, 3);  // a, guard page, b

  // vma_merge_new_range merges both sides: prev absorbs the new range and next.
  s.mmap(g + 2 * ps, 1, "rw-");
  s.expect_vmas(g + ps, 3, 1);
  s.expect_vma(g + ps, g + ps, g + 4 * ps);
  s.expect_sd(g + ps, "111");
  s.expect_sd(g, "0");         // the guard pieces are not part of the merge
  s.expect_sd(g + 4 * ps, "0");
}

TEST(mmap, map_fixed_over_the_middle_of_a_clean_vma_remerges_and_redirties_it) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "rw-");
  s.write(a, 3);
  s.clear_refs();
  s.expect_sd(a, "000");

  // __mmap_region: the old page is unmapped (its PTE zapped); the remnants are prev and next
  // of the new range, both with a singular anon_vma chain, so all three merge and the result
  // gets VM_SOFTDIRTY (semantics 2.5 "Sequence D", the MAP_FIXED case).
  EXPECT_EQ(s.mmap(a + ps, 1, "rw-"), ok(a + ps));
  s.expect_vmas(a, 3, 1);
  s.expect_flags(a, VM_SOFTDIRTY);
  s.expect_sd(a, "111");
  s.expect_present(a, "101");
}

TEST(mmap, an_incompatible_neighbour_does_not_merge_and_keeps_its_flag) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  // r-- private has neither VM_WRITE nor VM_ACCOUNT: is_mergeable_vma fails, a stays clean.
  s.mmap(a + ps, 1, "r--");
  s.expect_vmas(a, 2, 2);
  s.expect_sd(a, "01");
  s.expect_flags(a, 0, VM_SOFTDIRTY);
  s.expect_flags_exactly(a + ps, VM_READ | VM_MAY | VM_SOFTDIRTY);
}

TEST(mmap, shared_anonymous_mappings_never_merge) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + 1 * ps, 1, "rw-", "shared fixed");
  s.mmap(g + 2 * ps, 1, "rw-", "shared fixed");
  // Each MAP_SHARED|MAP_ANONYMOUS mapping has its own shmem file (shmem_zero_setup).
  s.expect_vmas(g + ps, 2, 2);
  // accountable_mapping() is false for VM_SHARED: no VM_ACCOUNT.
  s.expect_flags(g + ps, VM_READ | VM_WRITE | VM_SHARED | VM_MAYSHARE | VM_SOFTDIRTY, VM_ACCOUNT);
  s.read(g + ps);
  // A shared-anon page is a shmem page: bit 61 set, mapped once (bit 56), no SD of its own.
  s.expect_present(g + ps, "1");
  s.expect_file(g + ps, "1");
  s.expect_exclusive(g + ps, "1");
  EXPECT_FALSE(s.pte(g + ps).soft_dirty);
}

TEST(mmap, memfd_mappings_merge_only_with_linear_file_offsets) {
  scenario s;
  const u64 g = s.guard(16);
  // can_vma_merge_after: same vm_file and prev->vm_pgoff + vma_pages(prev) == pgoff.
  s.mmap(g + 1 * ps, 1, "rw-", "shared file=m@0 fixed");
  s.mmap(g + 2 * ps, 1, "rw-", "shared file=m@1p fixed");
  s.expect_vmas(g + ps, 2, 1);
  s.mmap(g + 4 * ps, 1, "rw-", "shared file=m@0 fixed");
  s.mmap(g + 5 * ps, 1, "rw-", "shared file=m@2p fixed");
  s.expect_vmas(g + 4 * ps, 2, 2);
  // Another file never merges.
  s.mmap(g + 6 * ps, 1, "rw-", "shared file=n@3p fixed");
  s.expect_vmas(g + 4 * ps, 3, 3);
  s.expect_flags(g + ps, VM_SHARED | VM_MAYSHARE | VM_SOFTDIRTY, VM_ACCOUNT);
}

TEST(mmap, read_only_open_cannot_be_mapped_shared_writable) {
  scenario s;
  const u64 g = s.guard(8);
  // do_mmap, MAP_SHARED: PROT_WRITE without FMODE_WRITE -> -EACCES.
  EXPECT_EQ(s.mmap(g + ps, 1, "rw-", "shared file=ro@0 ro fixed"), err(EACCES));
  s.expect_vmas(g, 8, 1);
  // PROT_READ is fine; VM_MAYWRITE and VM_SHARED are taken away, VM_MAYSHARE stays.
  EXPECT_EQ(s.mmap(g + ps, 1, "r--", "shared file=ro@0 ro fixed"), ok(g + ps));
  s.expect_flags(g + ps, VM_READ | VM_MAYREAD | VM_MAYSHARE | VM_SOFTDIRTY,
                 VM_WRITE | VM_MAYWRITE | VM_SHARED);
  // Such a mapping cannot be written (arch/x86/mm/fault.c:access_error).
  EXPECT_EQ(s.write(g + ps), sigsegv());
}

TEST(mmap, populate_write_faults_private_writable_and_read_faults_everything_else) {
  scenario s;
  const u64 g = s.guard(16);
  const u64 a = g + 1 * ps, b = g + 4 * ps;
  // mm/gup.c:populate_vma_page_range: FOLL_WRITE iff (VM_WRITE | VM_SHARED) == VM_WRITE.
  EXPECT_EQ(s.mmap(a, 2, "rw-", "private fixed populate"), ok(a));
  s.expect_present(a, "11");
  s.expect_exclusive(a, "11");  // do_anonymous_page, write: a fresh anon page each
  s.expect_file(a, "00");
  EXPECT_TRUE(s.pte(a).soft_dirty);  // pte_mkdirty on x86 sets soft-dirty
  EXPECT_EQ(s.mmap(b, 2, "r--", "private fixed populate"), ok(b));
  s.expect_present(b, "11");
  s.expect_exclusive(b, "00");  // do_anonymous_page, read: the shared zero page
  EXPECT_FALSE(s.pte(b).soft_dirty);
  s.clear_refs();
  s.expect_sd(a, "00");
  s.expect_sd(b, "00");
  s.expect_present(a, "11");
}

TEST(mmap, map_fixed_replacement_zaps_the_old_ptes) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  s.expect_sd(a, "10");
  // The old page's PTE is zapped (soft-dirty lost with it); the new range merges with the
  // remnant [a+1p) (singular anon_vma chain, linear pgoff) and the whole VMA is marked.
  EXPECT_EQ(s.mmap(a, 1, "rw-"), ok(a));
  s.expect_vmas(a, 2, 1);
  s.expect_present(a, "01");
  s.expect_sd(a, "11");
  s.clear_refs();
  s.expect_sd(a, "00");
  s.expect_present(a, "01");
}

TEST(mmap, droppable_vma_flags_and_merging) {
  scenario s;
  const u64 g = s.guard(8);
  // do_mmap:451-478: VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP; VM_NORESERVE
  // makes accountable_mapping() false.
  EXPECT_EQ(s.mmap(g + 1 * ps, 1, "rw-", "droppable fixed"), ok(g + ps));
  s.expect_flags_exactly(g + ps, VM_READ | VM_WRITE | VM_MAY | VM_DROPPABLE | VM_NORESERVE |
                                     VM_WIPEONFORK | VM_DONTDUMP | VM_SOFTDIRTY);
  // Two droppable VMAs merge like any private anon VMAs ...
  s.mmap(g + 2 * ps, 1, "rw-", "droppable fixed");
  s.expect_vmas(g + ps, 2, 1);
  // ... but never with ordinary anon memory (section 7 "Merging").
  s.mmap(g + 3 * ps, 1, "rw-", "private fixed");
  s.expect_vmas(g + ps, 3, 2);
  // MAP_DROPPABLE is anonymous only: with a file the type switch hits default -> -EINVAL.
  EXPECT_EQ(s.mmap(g + 5 * ps, 1, "rw-", "droppable file=d@0 fixed"), err(EINVAL));
}

TEST(mmap, noreserve_drops_vm_account_and_so_does_not_merge_with_an_accounted_vma) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + 1 * ps, 1, "rw-", "private fixed noreserve");
  s.expect_flags_exactly(g + ps, VM_READ | VM_WRITE | VM_MAY | VM_NORESERVE | VM_SOFTDIRTY);
  s.mmap(g + 2 * ps, 1, "rw-", "private fixed");
  s.expect_flags(g + 2 * ps, VM_ACCOUNT, VM_NORESERVE);
  s.expect_vmas(g + ps, 2, 2);
}

TEST(mmap, map_stack_sets_vm_nohugepage) {
  scenario s;
  const u64 g = s.guard(8);
  // include/linux/mman.h:calc_vm_flag_bits: _calc_vm_trans(flags, MAP_STACK, VM_NOHUGEPAGE).
  s.mmap(g + 1 * ps, 1, "rw-", "private fixed stack");
  s.expect_flags(g + ps, VM_NOHUGEPAGE | VM_SOFTDIRTY);
  s.mmap(g + 2 * ps, 1, "rw-", "private fixed");
  s.expect_vmas(g + ps, 2, 2);  // the flags differ in VM_NOHUGEPAGE
}

TEST(mmap, the_same_operations_written_as_an_sdtrace_give_the_same_answers) {
  scenario s;
  s.run(R"(
mmap 0x100000000 8p --- private = 0x100000000
mmap 0x100001000 1p rw- private fixed = 0x100001000
write 0x100001000 = 0
clear_refs = 0
expect sd 0x100001000 1p 0
mmap 0x100002000 1p rw- private fixed = 0x100002000
expect vmas 0x100001000 2p 1
expect sd 0x100001000 2p 11
expect present 0x100001000 2p 10
)");
  s.expect_sd(0x100001000, "11");
}

TEST(mmap, a_merging_mmap_recomputes_the_vm_page_prot_of_the_merged_vma) {
  // Section 2.4: an mmap that merges into the damaged VMA of sequence C sets VM_SOFTDIRTY and
  // calls vma_set_page_prot (__mmap_region:1572-1574); the next clear_refs then clears the flag
  // and recomputes the prot (clear_refs_write:1605-1606), so tracking works again.
  scenario s;
  const u64 r = s.guard(8);
  const u64 x = r + ps, y = r + 2 * ps;
  s.mmap(x, 1, "rw-", "shared file=fd@0 fixed");
  s.madvise(x, 1, "random");
  s.clear_refs();
  s.mmap(y, 1, "rw-", "shared file=fd@1p fixed");
  s.madvise(x, 1, "normal");
  EXPECT_TRUE(s.vma(x).v.page_prot_write);
  s.mmap(r + 3 * ps, 1, "rw-", "shared file=fd@2p fixed");
  s.expect_vmas(x, 3, 1);
  s.expect_flags(x, VM_SOFTDIRTY);
  s.clear_refs();
  EXPECT_FALSE(s.vma(x).v.page_prot_write);
  s.read(y);
  s.write(y);
  s.expect_sd(x, "010");
}

TEST(mmap, map_fixed_over_the_only_vma_of_a_span_frees_its_page_table) {
  // Section 8.3 mmap step 1: vms_clean_up_area -> vms_clear_ptes -> free_pgtables with
  // floor/ceiling from prev/next (unmap_start/unmap_end): a span that no other VMA intersects
  // loses its PTE table, so the new VMA's pte_none pages are holes (not PAGE_IS_WRITTEN).
  scenario s;
  const u64 a = G;
  s.mmap(a, 2, "rw-", "private");
  s.write(a);
  s.expect_written(a, "11");
  s.mmap(a, 2, "rw-", "private fixed");
  s.expect_written(a, "00");
  s.expect_present(a, "00");

  // With a neighbour in the same span the table stays: pte_none in a table is WRITTEN.
  scenario t;
  const u64 g = t.guard(8);
  t.mmap(g + ps, 2, "rw-");
  t.write(g + ps);
  t.mmap(g + ps, 2, "rw-");
  t.expect_written(g + ps, "11");
  t.expect_present(g + ps, "00");
}

}  // namespace
}  // namespace sdmc::test

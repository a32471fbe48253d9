// mlock / munlock: mm/mlock.c (do_mlock, apply_vma_lock_flags, mlock_fixup) and
// mm/gup.c:__mm_populate / populate_vma_page_range (kernel-6.12-semantics.md sections 2.3 mlock
// row, 7 "Other restrictions", 8.3 "MAP_POPULATE or mlock populate afterwards").
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(mlock, sets_vm_locked_and_populates_private_writable_memory_with_write_faults) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.clear_refs();
  EXPECT_EQ(s.mlock(a, 2), ok(0));
  s.expect_flags(a, VM_LOCKED);
  // populate_vma_page_range: FOLL_WRITE for (VM_WRITE | VM_SHARED) == VM_WRITE, so each page
  // is a fresh anon page from a write fault: pte_mkdirty sets soft-dirty.
  s.expect_present(a, "11");
  s.expect_exclusive(a, "11");
  s.expect_sd(a, "11");
}

TEST(mlock, populates_read_only_memory_with_the_zero_page) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "r--");
  s.clear_refs();
  EXPECT_EQ(s.mlock(a, 2), ok(0));
  s.expect_present(a, "11");
  s.expect_exclusive(a, "00");  // the zero page
  s.expect_sd(a, "00");
}

TEST(mlock, populates_a_shared_mapping_with_read_faults) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.clear_refs();
  EXPECT_EQ(s.mlock(m, 1), ok(0));
  // No FOLL_WRITE for shared mappings "because these don't COW".
  s.expect_present(m, "1");
  s.expect_file(m, "1");
  s.expect_sd(m, "0");
}

TEST(mlock, a_sub_range_splits_and_munlock_merges_it_back) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "r--");  // read populate: the zero page, no anon_vma
  EXPECT_EQ(s.mlock(a + ps, 1), ok(0));
  s.expect_vmas(a, 3, 3);
  s.expect_flags(a + ps, VM_LOCKED);
  s.expect_flags(a, 0, VM_LOCKED);
  s.expect_present(a, "010");
  EXPECT_EQ(s.munlock(a + ps, 1), ok(0));
  s.expect_vmas(a, 3, 1);
  s.expect_flags(a, 0, VM_LOCKED);
}

TEST(mlock, a_faulted_middle_does_not_merge_back_into_unfaulted_neighbours) {
  // mlock of rw- memory write-faults the middle page, which gives the middle VMA an anon_vma;
  // is_mergeable_anon_vma then refuses both neighbours (empty anon_vma_chain, not singular).
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "rw-");
  s.mlock(a + ps, 1);
  s.munlock(a + ps, 1);
  s.expect_vmas(a, 3, 3);
  EXPECT_EQ(s.flags(a), s.flags(a + ps));
}

TEST(mlock, a_munlock_merge_takes_the_modified_vmas_soft_dirty) {
  // Section 2.3 mlock row / rule 2: the merged VMA gets the modified VMA's newflags; the
  // absorbing neighbour's VM_SOFTDIRTY is lost.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 2 * ps;
  s.mmap(a, 1, "r--");
  s.mlock(a, 1);         // the zero page; no anon_vma
  s.clear_refs();
  s.mmap(b, 1, "r--");   // fresh; VM_LOCKED differs, no merge
  s.expect_vmas(a, 2, 2);
  s.expect_sd(a, "01");
  EXPECT_EQ(s.munlock(a, 1), ok(0));
  s.expect_vmas(a, 2, 1);
  s.expect_flags(a, 0, VM_SOFTDIRTY | VM_LOCKED);
  s.expect_sd(a, "00");
  s.expect_present(a, "10");
}

TEST(mlock, an_unaligned_start_is_rounded_down) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  // do_mlock: len = PAGE_ALIGN(len + offset_in_page(start)); start &= PAGE_MASK.
  EXPECT_EQ(s.op(line("mlock {} 1", a + 5)), ok(0));
  s.expect_flags(a, VM_LOCKED);
  s.expect_vma(a, a, a + ps);
  s.expect_present(a, "10");
}

TEST(mlock, a_prot_none_vma_is_locked_but_enomem) {
  scenario s;
  const u64 g = s.guard(4);
  // apply_vma_lock_flags sets VM_LOCKED; __mm_populate then fails with -EFAULT on the
  // inaccessible VMA, which __mlock_posix_error_return turns into -ENOMEM.
  EXPECT_EQ(s.mlock(g, 4), err(ENOMEM));
  s.expect_flags(g, VM_LOCKED);
  s.expect_present(g, "0000");
}

TEST(mlock, a_hole_is_enomem) {
  scenario s;
  const u64 g = s.guard(8);
  s.munmap(g + ps, 1);
  EXPECT_EQ(s.mlock(g + ps, 2), err(ENOMEM));
  EXPECT_EQ(s.mlock(g + 64 * ps, 1), err(ENOMEM));
  s.expect_flags(g + 2 * ps, 0, VM_LOCKED);
}

TEST(mlock, droppable_memory_is_silently_not_locked) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 d = g + 1 * ps;
  s.mmap(d, 1, "rw-", "droppable fixed");
  // vma_supports_mlock() is false for VM_DROPPABLE: mlock_fixup skips it.
  EXPECT_EQ(s.mlock(d, 1), ok(0));
  s.expect_flags(d, 0, VM_LOCKED);
}

TEST(mlock, write_faults_even_pages_that_are_already_present_after_clear_refs) {
  // GUP with FOLL_WRITE on a present read-only PTE takes a write fault (faultin_page ->
  // do_wp_page -> wp_page_reuse: pte_mkdirty), so mlock marks every page soft-dirty.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.expect_sd(a, "00");
  s.mlock(a, 2);
  s.expect_sd(a, "11");
}

TEST(mlock, a_lock_merge_spreads_the_modified_vmas_soft_dirty) {
  // Section 2.3 mlock row, "SD-set range merging into SD-clear neighbour": SD spreads.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 2 * ps;
  s.mmap(a, 1, "rw-");
  s.mlock(a, 1);        // populated: a has an anon_vma (a singular chain)
  s.clear_refs();
  s.mmap(b, 1, "rw-");  // fresh; VM_LOCKED differs, no merge
  s.expect_vmas(a, 2, 2);
  s.mlock(b, 1);        // b (no anon_vma) merges into a: a's chain is singular
  s.expect_vmas(a, 2, 1);
  s.expect_flags(a, VM_LOCKED | VM_SOFTDIRTY);
  s.expect_sd(a, "11");
}

TEST(mlock, a_locked_private_vma_made_writable_is_populated_with_write_faults) {
  // mprotect_fixup: "Private VM_LOCKED VMA becoming writable: trigger COW to avoid major fault
  // on access" -> populate_vma_page_range with FOLL_WRITE.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "r--");
  s.mlock(a, 2);  // the zero page
  s.clear_refs();
  s.expect_exclusive(a, "00");
  s.mprotect(a, 2, "rw-");
  s.expect_present(a, "11");
  s.expect_exclusive(a, "11");
  s.expect_sd(a, "11");
}

TEST(mlock, growing_a_locked_vma_with_mremap_populates_the_new_part) {
  // SYSCALL_DEFINE5(mremap): VM_LOCKED -> locked = true; then mm_populate(new_addr + old_len,
  // new_len - old_len): write faults for private writable memory (soft-dirty).
  scenario s;
  const u64 g = s.guard(16);
  const u64 a = g + ps;
  s.mmap(a, 1, "rw-");
  s.mlock(a, 1);
  s.munmap(a + ps, 1);
  s.clear_refs();
  EXPECT_EQ(s.mremap(a, 1, 2), ok(a));
  s.expect_flags(a, VM_LOCKED, VM_SOFTDIRTY);
  s.expect_present(a, "11");
  s.expect_sd(a, "01");
  // The same for a move that grows.
  const u64 d = g + 8 * ps;
  EXPECT_EQ(s.mremap_fixed(a, 2, 3, d), ok(d));
  s.expect_present(d, "111");
  s.expect_sd(d, "111");  // two moved PTEs and one populated page
}

// ---------------------------------------------------------------------------------------------
// Bug 1 (mlock): __mm_populate(start, len, ignore_errors = 0) stops at the first VMA whose
// population fails. mm/mlock.c:do_mlock:655 calls __mm_populate(start, len, 0);
// mm/gup.c:__mm_populate:2038-2045 breaks out of the loop on ret < 0 when !ignore_errors;
// mm/gup.c:populate_vma_page_range:1910-1912 returns -EFAULT for a PROT_NONE VMA. So the VMAs
// after a PROT_NONE VMA in the range are locked but NOT populated. The model (sim/mprotect.cpp
// sys_mlock) populates every accessible VMA of the range and only then returns -ENOMEM.
TEST(mlock, population_stops_at_the_first_prot_none_vma) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 3 * ps;
  s.mmap(a, 1, "rw-");
  s.mmap(b, 1, "rw-");
  // Both VMAs and the PROT_NONE page between them get VM_LOCKED (apply_vma_lock_flags), then
  // __mm_populate(start, len, ignore_errors = 0) breaks out of its loop at the first error:
  // a is populated, the PROT_NONE page fails with -EFAULT (populate_vma_page_range:
  // "we've never faulted in PROT_NONE pages"), and b is never reached.
  EXPECT_EQ(s.mlock(a, 3), err(ENOMEM));
  s.expect_flags(a, VM_LOCKED);
  s.expect_flags(a + ps, VM_LOCKED);
  s.expect_flags(b, VM_LOCKED);
  s.expect_present(a, "100");
}

// ---------------------------------------------------------------------------------------------
// Population beyond the end of a file (mremap grows a file mapping, never its file): GUP's
// faultin_page gets VM_FAULT_SIGBUS from shmem_fault (shmem_get_folio_gfp: -EINVAL at an index
// >= i_size), which vm_fault_to_errno makes -EFAULT, and __get_user_pages stops at that page.

TEST(mlock, population_stops_at_a_file_page_beyond_the_end_with_enomem) {
  // do_mlock -> __mm_populate(start, len, ignore_errors = 0) breaks out at the -EFAULT and
  // __mlock_posix_error_return makes it -ENOMEM. apply_vma_lock_flags came first, so every VMA
  // is VM_LOCKED; the pages below i_size were populated, the next VMA is never reached.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps, b = g + 4 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.munmap(m + ps, 2);
  EXPECT_EQ(s.mremap(m, 1, 3), ok(m));
  s.mmap(b, 1, "rw-");
  EXPECT_EQ(s.mlock(m, 4), err(ENOMEM));
  s.expect_flags(m, VM_LOCKED);
  s.expect_flags(b, VM_LOCKED);
  s.expect_present(m, "1000");
}

TEST(mlock, growing_a_locked_file_mapping_past_the_file_succeeds_without_populating_it) {
  // SYSCALL_DEFINE5(mremap): mm_populate(new_addr + old_len, ...) is __mm_populate(..,
  // ignore_errors = 1): the -EFAULT skips the rest of the VMA and mremap returns the address.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  EXPECT_EQ(s.mlock(m, 1), ok(0));
  s.munmap(m + ps, 2);
  EXPECT_EQ(s.mremap(m, 1, 3), ok(m));
  s.expect_flags(m, VM_LOCKED);
  s.expect_present(m, "100");
  EXPECT_EQ(s.mlock(m, 3), err(ENOMEM));  // populating it again fails the same way
}

TEST(mlock, a_locked_private_file_mapping_made_writable_is_populated_up_to_the_file_end) {
  // mprotect_fixup: populate_vma_page_range(vma, start, end, NULL), its error ignored, with
  // write faults (private): wp_page_copy for the two file pages, do_cow_fault -> SIGBUS for the
  // third (after vmf_anon_prepare). mprotect returns 0.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "r--", "private file=k@0 fixed");
  EXPECT_EQ(s.mlock(a, 2), ok(0));
  s.munmap(a + 2 * ps, 1);
  EXPECT_EQ(s.mremap(a, 2, 3), ok(a));  // the read populate of the new page fails: ignored
  s.expect_present(a, "110");
  s.expect_file(a, "110");
  EXPECT_EQ(s.mprotect(a, 3, "rw-"), ok(0));
  s.expect_present(a, "110");
  s.expect_file(a, "000");
  s.expect_exclusive(a, "110");
}

}  // namespace
}  // namespace sdmc::test

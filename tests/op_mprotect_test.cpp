// mprotect: mm/mprotect.c:do_mprotect_pkey, mprotect_fixup, change_pte_range,
// can_change_pte_writable (kernel-6.12-semantics.md sections 2.3 mprotect row, 3.4, 5, 8.3
// "mprotect").
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(mprotect, the_middle_of_a_vma_splits_it_in_three_and_remerges) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "rw-");

  EXPECT_EQ(s.mprotect(a + ps, 1, "r--"), ok(0));
  s.expect_vmas(a, 3, 3);
  // mprotect_fixup: an unfaulted anonymous VMA (no anon_vma) gives its VM_ACCOUNT back when it
  // stops being writable; the split pieces keep VM_SOFTDIRTY (__split_vma copies it).
  s.expect_flags_exactly(a + ps, VM_READ | VM_MAY | VM_SOFTDIRTY);
  s.expect_flags_exactly(a, VM_READ | VM_WRITE | VM_MAY | VM_ACCOUNT | VM_SOFTDIRTY);
  s.expect_flags_exactly(a + 2 * ps, VM_READ | VM_WRITE | VM_MAY | VM_ACCOUNT | VM_SOFTDIRTY);
  EXPECT_EQ(s.write(a + ps), sigsegv());
  s.expect_present(a, "000");

  // Writable again: VM_ACCOUNT is added back (no VM_ACCOUNT|VM_WRITE|VM_SHARED|VM_NORESERVE
  // before), the flags equal the neighbours' and vma_merge_existing_range merges all three.
  EXPECT_EQ(s.mprotect(a + ps, 1, "rw-"), ok(0));
  s.expect_vmas(a, 3, 1);
  s.expect_vma(a, a, a + 3 * ps);
  s.expect_flags_exactly(a, VM_READ | VM_WRITE | VM_MAY | VM_ACCOUNT | VM_SOFTDIRTY);
}

TEST(mprotect, a_faulted_vma_keeps_vm_account_when_made_read_only) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);  // anon_vma assigned
  s.mprotect(a, 1, "r--");
  s.expect_flags(a, VM_READ | VM_ACCOUNT, VM_WRITE);
}

TEST(mprotect, making_a_private_mapping_writable_adds_vm_account_but_not_a_shared_one) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + 1 * ps, 1, "r--");
  s.expect_flags(g + ps, 0, VM_ACCOUNT);
  s.mprotect(g + ps, 1, "rw-");
  s.expect_flags(g + ps, VM_WRITE | VM_ACCOUNT);

  s.mmap(g + 4 * ps, 1, "r--", "shared file=m@0 fixed");
  s.mprotect(g + 4 * ps, 1, "rw-");
  s.expect_flags(g + 4 * ps, VM_WRITE | VM_SHARED, VM_ACCOUNT);
}

TEST(mprotect, keeps_the_vma_flag_and_every_pte_soft_dirty_bit) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps, b = g + 4 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  s.expect_sd(a, "10");
  // change_pte_range: pte_modify keeps _PAGE_SOFT_DIRTY (_COMMON_PAGE_CHG_MASK).
  s.mprotect(a, 2, "r--");
  s.expect_sd(a, "10");
  s.expect_present(a, "11");
  s.expect_flags(a, 0, VM_SOFTDIRTY);
  // VM_FLAGS_CLEAR does not contain VM_SOFTDIRTY: a fresh VMA stays soft-dirty.
  s.mmap(b, 1, "rw-");
  s.mprotect(b, 1, "r--");
  s.expect_flags(b, VM_SOFTDIRTY);
}

TEST(mprotect, prot_none_pages_stay_present_and_refuse_every_access) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  s.mprotect(a, 1, "---");
  // x86 pte_present() counts _PAGE_PROTNONE entries as present (section 4.1).
  s.expect_present(a, "1");
  s.expect_sd(a, "0");
  EXPECT_EQ(s.read(a), sigsegv());
  EXPECT_EQ(s.write(a), sigsegv());
  s.expect_sd(a, "0");
  s.mprotect(a, 1, "rw-");
  s.expect_present(a, "1");
  EXPECT_EQ(s.write(a), ok(0));
  s.expect_sd(a, "1");
}

TEST(mprotect, a_round_trip_on_a_tracked_vma_leaves_clean_ptes_read_only) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  s.mprotect(a, 1, "r--");
  s.mprotect(a, 1, "rw-");
  // can_change_pte_writable:56-57: tracking enabled and the PTE not soft-dirty -> no upgrade,
  // so the next store faults and sets soft-dirty (section 5).
  EXPECT_FALSE(s.pte(a).write);
  s.expect_sd(a, "0");
  s.write(a);
  s.expect_sd(a, "1");
  EXPECT_TRUE(s.pte(a).write);
}

TEST(mprotect, a_round_trip_on_an_untracked_vma_can_make_a_clean_pte_writable) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();                 // a's PTE: read-only, not soft-dirty
  s.mmap(a + ps, 1, "rw-");       // merges: the VMA has VM_SOFTDIRTY again (rule 1)
  s.expect_vmas(a, 2, 1);
  s.mprotect(a, 2, "r--");
  s.mprotect(a, 2, "rw-");
  // Tracking is disabled (VM_SOFTDIRTY set), the page is an exclusive anon page: the private
  // MM_CP_TRY_CHANGE_WRITABLE upgrade makes the clean PTE writable (section 5, last paragraph
  // of "mprotect itself"). Bit 55 still reads 1 through the VMA flag.
  EXPECT_TRUE(s.pte(a).write);
  EXPECT_FALSE(s.pte(a).soft_dirty);
  s.expect_sd(a, "11");
}

TEST(mprotect, a_range_starting_in_a_hole_is_enomem_and_changes_nothing) {
  scenario s;
  const u64 g = s.guard(8);
  s.munmap(g + ps, 1);
  // do_mprotect_pkey: vma->vm_start > start -> -ENOMEM before any change.
  EXPECT_EQ(s.mprotect(g + ps, 2, "r--"), err(ENOMEM));
  s.expect_flags_exactly(g + 2 * ps, VM_MAY | VM_SOFTDIRTY);
  s.expect_vmas(g, 8, 2);
  // A range entirely outside every VMA is -ENOMEM as well.
  EXPECT_EQ(s.mprotect(g + 64 * ps, 1, "r--"), err(ENOMEM));
}

TEST(mprotect, a_hole_after_a_vma_is_enomem_after_that_vma_changed) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 2 * ps;
  s.mmap(a, 1, "rw-");
  s.munmap(a + ps, 1);
  // The loop changes a, then finds vma->vm_start != tmp (the hole): -ENOMEM.
  EXPECT_EQ(s.mprotect(a, 2, "r--"), err(ENOMEM));
  s.expect_flags(a, VM_READ, VM_WRITE);
  EXPECT_EQ(s.write(a), sigsegv());
  EXPECT_EQ(s.read(a), ok(0));
}

TEST(mprotect, unaligned_start_is_einval_and_zero_length_is_a_no_op) {
  scenario s;
  const u64 g = s.guard(8);
  EXPECT_EQ(s.op(line("mprotect {} 1p r--", g + ps + 1)), err(EINVAL));
  EXPECT_EQ(s.op(line("mprotect {} 0 r--", g + 64 * ps)), ok(0));  // even over a hole
  s.expect_vmas(g, 8, 1);
}

TEST(mprotect, asking_for_write_beyond_vm_maywrite_is_eacces) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + ps, 1, "r--", "shared file=ro@0 ro fixed");
  // (newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS: VM_WRITE without VM_MAYWRITE -> -EACCES.
  EXPECT_EQ(s.mprotect(g + ps, 1, "rw-"), err(EACCES));
  s.expect_flags(g + ps, VM_READ, VM_WRITE);
}

TEST(mprotect, a_merge_spreads_the_modified_vmas_soft_dirty_to_the_neighbour) {
  // Section 2.3 mprotect row, "SD-set range merging into SD-clear neighbour": the merged VMA
  // gets vm_flags_reset(newflags) of the modified VMA, VM_SOFTDIRTY included.
  scenario s;
  const u64 g = s.guard(8);
  const u64 x = g + 1 * ps, p = g + 2 * ps;
  s.mmap(p, 1, "rw-");
  s.clear_refs();
  s.mmap(x, 1, "r--");  // fresh, soft-dirty; not mergeable with p yet
  s.expect_vmas(x, 2, 2);
  s.mprotect(x, 1, "rw-");
  s.expect_vmas(x, 2, 1);
  s.expect_flags(x, VM_SOFTDIRTY);
  s.expect_sd(x, "11");
}

TEST(mprotect, a_range_over_several_vmas_walks_them_left_to_right_and_merges) {
  scenario s;
  const u64 g = s.guard(8);
  s.mmap(g + 1 * ps, 1, "r--");
  s.mmap(g + 2 * ps, 1, "rw-");
  s.expect_vmas(g + ps, 2, 2);
  // The r-- VMA is unchanged (newflags == oldflags, *pprev = vma); the rw- one loses VM_WRITE
  // and, unfaulted, VM_ACCOUNT, and then merges into its prev.
  EXPECT_EQ(s.mprotect(g + ps, 2, "r--"), ok(0));
  s.expect_vmas(g + ps, 2, 1);
  s.expect_flags_exactly(g + ps, VM_READ | VM_MAY | VM_SOFTDIRTY);
}

TEST(mprotect, a_shared_mapping_becoming_read_only_write_protects_its_ptes) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.write(m);
  EXPECT_TRUE(s.pte(m).write);
  s.mprotect(m, 1, "r--");
  EXPECT_FALSE(s.pte(m).write);
  EXPECT_EQ(s.write(m), sigsegv());
  s.expect_present(m, "1");
  s.expect_file(m, "1");
}

TEST(mprotect, a_real_protection_change_repairs_a_stale_writable_vm_page_prot) {
  // Section 2.4: the stale prot of sequence C persists "until something recomputes
  // vm_page_prot: mprotect ...". mprotect_fixup:617-620 returns early when the flags do not
  // change, so only a real change reaches vma_set_page_prot (680).
  scenario s;
  const u64 r = s.guard(8);
  const u64 x = r + ps, y = r + 2 * ps;
  s.mmap(x, 1, "rw-", "shared file=fd@0 fixed");
  s.madvise(x, 1, "random");
  s.clear_refs();
  s.mmap(y, 1, "rw-", "shared file=fd@1p fixed");
  s.madvise(x, 1, "normal");  // sequence C: merged, clean, vm_page_prot still writable
  EXPECT_TRUE(s.vma(x).v.page_prot_write);
  s.mprotect(x, 2, "rw-");  // same flags: nothing recomputed
  EXPECT_TRUE(s.vma(x).v.page_prot_write);
  s.mprotect(x, 2, "r--");
  s.mprotect(x, 2, "rw-");
  EXPECT_FALSE(s.vma(x).v.page_prot_write);
  s.read(y);
  EXPECT_FALSE(s.pte(y).write);
  s.write(y);
  s.expect_sd(x, "01");
}

TEST(mprotect, the_end_of_a_vma_merging_into_next_gives_next_the_modified_vmas_flags) {
  // mm/vma.c:vma_merge_existing_range:824-839: vma is not wholly covered, so vma shrinks and
  // next grows downwards; mprotect_fixup then resets next's flags to newflags (from vma).
  scenario s;
  const u64 r = s.guard(8);
  const u64 v = r + ps, p = r + 3 * ps;
  s.mmap(v, 2, "r--");
  s.clear_refs();       // v clean
  s.mmap(p, 1, "rw-");  // p fresh, soft-dirty
  s.expect_sd(v, "001");
  EXPECT_EQ(s.mprotect(v + ps, 1, "rw-"), ok(0));
  s.expect_vmas(v, 3, 2);
  s.expect_vma(v, v, v + ps);
  s.expect_vma(p, v + ps, p + ps);
  s.expect_flags(p, VM_WRITE | VM_ACCOUNT, VM_SOFTDIRTY);
  s.expect_sd(v, "000");  // p's soft-dirty is lost
}

TEST(mprotect, over_several_vmas_the_last_modified_vma_that_merged_wins) {
  // Section 2.3: "For mprotect/madvise over a range spanning several VMAs, the callers iterate
  // left to right. Each step may merge into the result of the previous step. The final merged
  // VMA's SD is that of the last modified VMA that merged."
  // x (r--), y (r-x), z (r--) are kept apart by their protections; only z is soft-dirty.
  scenario s;
  const u64 r = s.guard(8);
  const u64 x = r + ps, y = r + 2 * ps, z = r + 3 * ps;
  s.mmap(x, 1, "r--");
  s.mmap(y, 1, "r--");
  s.mprotect(y, 1, "r-x");
  s.clear_refs();
  s.mmap(z, 1, "r--");
  s.expect_vmas(x, 3, 3);
  s.expect_sd(x, "001");
  // x: no merge; y merges into x (clean); z merges into [x, y] and vm_flags_reset gives the
  // whole VMA z's flags, VM_SOFTDIRTY included: x and y are over-reported.
  EXPECT_EQ(s.mprotect(x, 3, "rw-"), ok(0));
  s.expect_vmas(x, 3, 1);
  s.expect_sd(x, "111");

  // The other way round: the soft-dirty VMA in the middle. Its clean left neighbour, modified
  // first, merges right into it and resets its flags; then z merges, clean as well.
  scenario t;
  const u64 r2 = t.guard(8);
  t.mmap(r2 + ps, 1, "r--");
  t.mmap(r2 + 3 * ps, 1, "r--");
  t.mprotect(r2 + 3 * ps, 1, "r-x");
  t.clear_refs();
  t.mmap(r2 + 2 * ps, 1, "rw-");
  t.expect_vmas(r2 + ps, 3, 3);
  t.expect_sd(r2 + ps, "010");
  EXPECT_EQ(t.mprotect(r2 + ps, 3, "rw-"), ok(0));
  t.expect_vmas(r2 + ps, 3, 1);
  t.expect_sd(r2 + ps, "000");
}

TEST(mprotect, a_neighbours_anon_vma_reused_across_an_access_flag_difference_allows_a_merge) {
  // Section 2.1: anon_vma_compatible (mm/vma.c:1768-1775) ignores the access bits and
  // VM_SOFTDIRTY, so the first fault in b reuses a's anon_vma (find_mergeable_anon_vma ->
  // reusable_anon_vma); a later mprotect making the flags equal then merges (same anon_vma).
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + ps, b = g + 2 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.mmap(b, 1, "rwx");  // differs only in VM_EXEC: no merge at mmap
  s.expect_vmas(a, 2, 2);
  s.write(b);
  EXPECT_EQ(s.vma(a).v.anon_vma, s.vma(b).v.anon_vma);
  s.mprotect(b, 1, "rw-");
  s.expect_vmas(a, 2, 1);

  // Any other flag difference (VM_NORESERVE / VM_ACCOUNT here) makes b allocate its own
  // anon_vma; two different anon_vmas never merge (is_mergeable_anon_vma).
  scenario t;
  const u64 h = t.guard(8);
  t.mmap(h + ps, 1, "rw-");
  t.write(h + ps);
  t.mmap(h + 2 * ps, 1, "rw-", "private fixed noreserve");
  t.expect_vmas(h + ps, 2, 2);
  t.write(h + 2 * ps);
  EXPECT_NE(t.vma(h + ps).v.anon_vma, t.vma(h + 2 * ps).v.anon_vma);
}

}  // namespace
}  // namespace sdmc::test

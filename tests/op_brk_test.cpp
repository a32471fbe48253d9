// brk: mm/mmap.c:SYSCALL_DEFINE1(brk) and do_brk_flags (kernel-6.12-semantics.md sections 1.1
// do_brk_flags row, 2.3 brk row, rule 1). The heap is placed at H (a replayer uses
// prctl(PR_SET_MM)); the first `brk` of a trace sets the heap start to OLD.
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

constexpr u64 H = 0x600000000000;

// A guard of 16 pages at H with a hole [H+1p, H+12p) for the heap.
u64 heap_area(scenario& s) {
  s.guard(16, H);
  s.munmap(H + ps, 11);
  return H + ps;
}

TEST(brk, the_first_growth_creates_a_softdirty_heap_vma) {
  scenario s;
  const u64 h = heap_area(s);
  EXPECT_EQ(s.brk(h, h + 2 * ps), ok(h + 2 * ps));
  s.expect_vmas(h, 2, 1);
  s.expect_vma(h, h, h + 2 * ps);
  // do_brk_flags: VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT, then VM_SOFTDIRTY at out: (1858).
  s.expect_flags_exactly(h, VM_READ | VM_WRITE | VM_MAY | VM_ACCOUNT | VM_SOFTDIRTY);
  s.expect_sd(h, "11");
  s.expect_present(h, "00");
}

TEST(brk, growth_expands_the_heap_vma_and_redirties_its_old_part) {
  scenario s;
  const u64 h = heap_area(s);
  s.brk(h, h + 2 * ps);
  s.write(h, 2);
  s.clear_refs();
  s.expect_sd(h, "00");

  // vma_merge_new_range with VMG_FLAG_JUST_EXPAND grows the heap VMA; the whole VMA is then
  // re-marked (do_brk_flags:1858): rule 1.
  EXPECT_EQ(s.brk(h + 2 * ps, h + 4 * ps), ok(h + 4 * ps));
  s.expect_vmas(h, 4, 1);
  s.expect_vma(h, h, h + 4 * ps);
  s.expect_flags(h, VM_SOFTDIRTY);
  s.expect_sd(h, "1111");
  s.expect_present(h, "1100");
}

TEST(brk, growth_merges_only_with_the_vma_that_ends_at_the_old_break) {
  scenario s;
  const u64 h = heap_area(s);
  s.brk(h, h + 4 * ps);
  s.write(h, 4);
  s.clear_refs();
  // Split the heap: [h] r--, [h+1p, h+4p) rw-. Both are clean.
  s.mprotect(h, 1, "r--");
  s.expect_vmas(h, 4, 2);
  s.brk(h + 4 * ps, h + 5 * ps);
  // Only the rw- piece, which ends at the old break, is expanded and re-marked.
  s.expect_vmas(h, 5, 2);
  s.expect_vma(h + ps, h + ps, h + 5 * ps);
  s.expect_sd(h, "01111");
  s.expect_flags(h, 0, VM_SOFTDIRTY);
}

TEST(brk, shrinking_unmaps_the_top_and_leaves_the_rest_alone) {
  scenario s;
  const u64 h = heap_area(s);
  s.brk(h, h + 4 * ps);
  s.write(h, 4);
  s.clear_refs();
  // "Always allow shrinking brk": do_vmi_align_munmap of [newbrk, oldbrk).
  EXPECT_EQ(s.brk(h + 4 * ps, h + 2 * ps), ok(h + 2 * ps));
  s.expect_vmas(h, 4, 1);
  s.expect_vma(h, h, h + 2 * ps);
  s.expect_flags(h, 0, VM_SOFTDIRTY);
  s.expect_sd(h, "0000");
  s.expect_present(h, "1100");
}

TEST(brk, growth_that_leaves_no_free_page_before_the_next_vma_is_refused) {
  scenario s;
  const u64 h = heap_area(s);  // the guard resumes at H+12p
  s.brk(h, h + ps);
  // SYSCALL_DEFINE1(brk): newbrk + PAGE_SIZE > vm_start_gap(next) -> the old break is returned.
  EXPECT_EQ(s.brk(h + ps, H + 12 * ps), ok(h + ps));
  s.expect_vma(h, h, h + ps);
  // One page short of the next VMA is fine.
  EXPECT_EQ(s.brk(h + ps, H + 11 * ps), ok(H + 11 * ps));
  s.expect_vma(h, h, H + 11 * ps);
}

TEST(brk, a_break_below_the_heap_start_returns_the_current_break) {
  scenario s;
  const u64 h = heap_area(s);
  s.brk(h, h + 2 * ps);
  // brk < mm->start_brk: goto out, the break is unchanged.
  EXPECT_EQ(s.brk(h + 2 * ps, H), ok(h + 2 * ps));
  s.expect_vma(h, h, h + 2 * ps);
}

TEST(brk, an_unaligned_break_is_rounded_up_to_pages) {
  scenario s;
  const u64 h = heap_area(s);
  s.brk(h, h + 2 * ps);
  // SYSCALL_DEFINE1(brk): newbrk = PAGE_ALIGN(brk); the syscall returns brk itself.
  EXPECT_EQ(s.brk(h + 2 * ps, h + 2 * ps + 1), ok(h + 2 * ps + 1));
  s.expect_vma(h, h, h + 3 * ps);
  // oldbrk == newbrk after rounding: only mm->brk moves.
  EXPECT_EQ(s.brk(h + 2 * ps + 1, h + 3 * ps), ok(h + 3 * ps));
  s.expect_vma(h, h, h + 3 * ps);
}

}  // namespace
}  // namespace sdmc::test

// fork, seen from the parent (the child exits at once): kernel/fork.c:dup_mmap and
// mm/memory.c:copy_page_range, vma_needs_copy, __copy_present_ptes, copy_nonpresent_pte
// (kernel-6.12-semantics.md sections 1.2 "fork keeps it", 3.2, 3.4 fork rows, 8.3 "fork").
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(fork, keeps_every_vma_its_flags_and_every_pte_soft_dirty_bit_in_the_parent) {
  scenario s;
  const u64 g = s.guard(16);
  const u64 a = g + 1 * ps, b = g + 6 * ps;
  s.mmap(a, 4, "rw-");
  s.write(a, 3);
  s.clear_refs();
  s.write(a);
  s.mmap(b, 1, "rw-");  // fresh: VM_SOFTDIRTY
  const std::size_t before = s.k.mm.map_count();
  EXPECT_EQ(s.fork(), ok(0));
  EXPECT_EQ(s.k.mm.map_count(), before);
  s.expect_vmas(a, 4, 1);
  s.expect_flags(a, 0, VM_SOFTDIRTY);
  s.expect_flags(b, VM_SOFTDIRTY);
  s.expect_sd(a, "1000");
  s.expect_sd(b, "1");
  s.expect_present(a, "1110");
}

TEST(fork, write_protects_writable_private_anon_ptes_so_the_next_store_faults) {
  // __copy_present_ptes:957-959: a COW mapping's writable PTE is write-protected in both
  // processes, soft-dirty untouched.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  EXPECT_TRUE(s.pte(a).write);
  s.fork();
  EXPECT_FALSE(s.pte(a).write);
  EXPECT_TRUE(s.pte(a).soft_dirty);
  s.expect_sd(a, "10");
  // The store faults (do_wp_page; reuse once the child is gone) and sets soft-dirty.
  s.write(a + ps);
  s.expect_sd(a, "11");
  EXPECT_TRUE(s.pte(a + ps).write);
  s.read(a);
  s.expect_sd(a, "11");
}

TEST(fork, pages_are_exclusive_again_once_the_child_has_exited) {
  // Section 9 "Runners-up": fork clears bit 56 in both processes and restores it when either
  // side COWs or exits; the trace's child exits at once.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.fork();
  s.expect_exclusive(a, "1");
  s.expect_present(a, "1");
}

TEST(fork, a_shared_vma_is_not_copied_and_its_ptes_stay_writable) {
  // vma_needs_copy:1330-1354: no anon_vma, no PFNMAP, no uffd-wp -> copy_page_range does
  // nothing, so the parent's PTEs are untouched (and the child gets none).
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.write(m);
  s.clear_refs();
  s.write(m);
  EXPECT_TRUE(s.pte(m).write);
  s.fork();
  EXPECT_TRUE(s.pte(m).write);
  s.expect_sd(m, "10");
  s.expect_present(m, "10");
}

TEST(fork, wipeonfork_droppable_and_dontfork_vmas_are_left_alone_in_the_parent) {
  // dup_mmap: VM_DONTCOPY VMAs are skipped; VM_WIPEONFORK (MAP_DROPPABLE included) VMAs are
  // copied without copy_page_range.
  scenario s;
  const u64 g = s.guard(16);
  const u64 w = g + 1 * ps, d = g + 4 * ps, n = g + 7 * ps;
  s.mmap(w, 1, "rw-");
  s.madvise(w, 1, "wipeonfork");
  s.mmap(d, 1, "rw-", "droppable fixed");
  s.mmap(n, 1, "rw-");
  s.madvise(n, 1, "dontfork");
  for (u64 p : {w, d, n}) s.write(p);
  s.fork();
  for (u64 p : {w, d, n}) {
    EXPECT_TRUE(s.pte(p).write) << hex(p);
    s.expect_present(p, "1");
    s.expect_sd(p, "1");
  }
}

TEST(fork, swap_entries_are_kept_with_their_soft_dirty_bit) {
  // copy_nonpresent_pte: the swap PTE is copied verbatim, SD included; the parent keeps its own.
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  s.reclaim(a, 2);
  s.fork();
  s.expect_swapped(a, "11");
  s.expect_sd(a, "10");
}

TEST(fork, keeps_the_parents_uffd_wp_state) {
  // The parent keeps its registration and its protected PTEs and markers (section 6.5 fork
  // row is about the child only).
  scenario s;
  const u64 g = s.guard(8);
  const u64 u = g + 1 * ps;
  s.mmap(u, 2, "rw-");
  s.write(u);
  s.uffd_wp(u, 2);
  s.fork();
  s.expect_flags(u, VM_UFFD_WP);
  s.expect_uffd_wp(u, "11");
  s.expect_written(u, "00");
  s.expect_swapped(u, "01");
}

}  // namespace
}  // namespace sdmc::test

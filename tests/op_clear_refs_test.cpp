// clear_refs ("echo 4 > /proc/self/clear_refs"): fs/proc/task_mmu.c:clear_refs_write,
// clear_refs_pte_range, clear_soft_dirty (kernel-6.12-semantics.md sections 1.2, 3.3, 5
// "clear_refs and write-notify", 8.3 "clear_refs 4").
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(clear_refs, clears_vm_softdirty_of_every_vma_and_soft_dirty_of_every_pte) {
  scenario s;
  const u64 g = s.guard(16);
  const u64 a = g + 1 * ps, m = g + 5 * ps, d = g + 8 * ps;
  s.mmap(a, 3, "rw-");
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.mmap(d, 1, "rw-", "droppable fixed");
  s.write(a, 2);
  s.write(m);
  s.write(d);
  s.read(a + 2 * ps);
  EXPECT_EQ(s.clear_refs(), ok(0));
  // (a) every VMA that had VM_SOFTDIRTY loses it (1601-1607) ...
  for (const vma_ref& v : s.k.mm.all_vmas())
    EXPECT_FALSE(v.flags() & VM_SOFTDIRTY) << hex(pfn_to_addr(v.vm_start));
  // ... (b) clear_soft_dirty write-protects and cleans every present PTE (1418-1424), the
  // zero page and shared pages included.
  s.expect_sd(g, std::string(16, '0'));
  s.expect_present(a, "111");
  s.expect_present(m, "10");
  for (u64 p : {a, a + ps, a + 2 * ps, m, d}) {
    EXPECT_FALSE(s.pte(p).write) << hex(p);
    EXPECT_FALSE(s.pte(p).soft_dirty) << hex(p);
  }
}

TEST(clear_refs, keeps_the_hardware_dirty_bit) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  // clear_soft_dirty: ptep_modify_prot_start + pte_wrprotect + pte_clear_soft_dirty; pte_mkclean
  // is not called.
  EXPECT_TRUE(s.pte(a).dirty);
}

TEST(clear_refs, clears_the_soft_dirty_bit_of_swap_entries_but_leaves_them_swapped) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.reclaim(a, 1);
  s.expect_swapped(a, "1");
  s.expect_sd(a, "1");
  s.clear_refs();  // clear_soft_dirty:1425-1427: pte_swp_clear_soft_dirty
  s.expect_swapped(a, "1");
  s.expect_sd(a, "0");
  // do_swap_page restores soft-dirty from the swap PTE: still 0 after a read.
  s.read(a);
  s.expect_present(a, "1");
  s.expect_sd(a, "0");
  s.write(a);
  s.expect_sd(a, "1");
}

TEST(clear_refs, does_not_touch_uffd_wp_state) {
  // Section 6.5: "clear_refs does not touch uffd-wp bits".
  scenario s;
  const u64 g = s.guard(8);
  const u64 u = g + 1 * ps;
  s.mmap(u, 2, "rw-");
  s.write(u);
  s.uffd_wp(u, 2);
  s.clear_refs();
  s.expect_uffd_wp(u, "11");
  s.expect_written(u, "00");
  s.expect_present(u, "10");
  s.expect_swapped(u, "01");  // the marker
  s.expect_flags(u, VM_UFFD_WP, VM_SOFTDIRTY);
}

TEST(clear_refs, recomputes_vm_page_prot_of_the_vmas_it_cleans) {
  // clear_refs_write:1605-1606 calls vma_set_page_prot after clearing VM_SOFTDIRTY: a shmem
  // VMA's vm_page_prot becomes read-only (writenotify for soft-dirty tracking).
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  EXPECT_TRUE(s.vma(m).v.page_prot_write);
  s.read(m);
  EXPECT_TRUE(s.pte(m).write);  // vm_page_prot writable while VM_SOFTDIRTY is set
  s.clear_refs();
  EXPECT_FALSE(s.vma(m).v.page_prot_write);
  EXPECT_FALSE(s.pte(m).write);
  s.read(m + ps);
  EXPECT_FALSE(s.pte(m + ps).write);
}

TEST(clear_refs, a_second_clear_refs_changes_nothing) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a);
  s.clear_refs();
  s.expect_sd(a, "00");
  EXPECT_EQ(s.clear_refs(), ok(0));
  s.expect_sd(a, "00");
  s.expect_present(a, "10");
  s.expect_vmas(a, 2, 1);
}

TEST(clear_refs, on_an_empty_address_space_succeeds) {
  scenario s;
  EXPECT_EQ(s.clear_refs(), ok(0));
  EXPECT_EQ(s.k.mm.map_count(), 0u);
}

}  // namespace
}  // namespace sdmc::test

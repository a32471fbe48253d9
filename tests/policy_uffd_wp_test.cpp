// The uffd-wp design: a consumer emulating soft-dirty with async userfaultfd write-protect
// (WP_ASYNC | WP_UNPOPULATED) and PAGEMAP_SCAN's PAGE_IS_WRITTEN. Expected values follow
// semantics section 6 (fs/proc/task_mmu.c:pagemap_page_category, mm/userfaultfd.c).
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(uffd_wp, every_new_mapping_is_registered_and_write_protected) {
  scenario s{under{"uffd-wp"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 3, "rw-");
  s.mmap(a + 4 * ps, 2, "rw-", "shared fixed");
  s.expect_flags(a, VM_UFFD_WP);
  s.expect_flags(a + 4 * ps, VM_UFFD_WP);
  // WP_UNPOPULATED: markers in the empty PTEs, so nothing reads written yet, and a read fault
  // keeps the protection (the zero page is mapped uffd-wp).
  s.read(a);
  s.expect_sd(a, "000");
  s.expect_uffd_wp(a, "111");
  s.write(a + ps);
  s.write(a + 5 * ps);
  s.expect_sd(a, "010");
  s.expect_sd(a + 4 * ps, "01");
  // Bit 55 is PAGE_IS_WRITTEN, both ways of reading it.
  EXPECT_EQ(s.sd(a, 3), s.written(a, 3));
}

TEST(uffd_wp, clear_refs_is_a_write_protect_reset_of_the_whole_address_space) {
  scenario s{under{"uffd-wp"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 4, "rw-");
  s.write(a, 4);
  s.expect_sd(a, "1111");
  s.clear_refs();
  s.expect_sd(a, "0000");
  s.expect_uffd_wp(a, "1111");
  s.write(a + 3 * ps);
  s.expect_sd(a, "0001");
  s.finish();
  EXPECT_EQ(s.ghost.sd.false_negatives, 0u);
  EXPECT_EQ(s.ghost.sd.false_positives, 0u);
}

TEST(uffd_wp, a_moved_range_keeps_what_was_written) {
  // The consumer's context has UFFD_FEATURE_EVENT_REMAP: mremap_userfaultfd_prep keeps the
  // new VMA registered and move_ptes keeps uffd-wp bits and markers (it drops them only
  // without the feature), so the written page reads written at its new place and the page
  // never touched still reads not written.
  scenario s{under{"uffd-wp"}};
  const u64 g = s.guard(32), a = g + ps, b = g + 16 * ps;
  s.mmap(a, 2, "rw-");
  s.clear_refs();
  s.write(a);
  EXPECT_TRUE(s.k.mm.uffd_event_remap);
  EXPECT_EQ(s.mremap_fixed(a, 2, 2, b), ok(b));
  s.expect_flags(b, VM_UFFD_WP);
  s.expect_uffd_wp(b, "01");
  s.expect_sd(b, "10");
  s.finish();
  EXPECT_EQ(s.ghost.sd.false_negatives, 0u);
  EXPECT_EQ(s.ghost.sd.false_positives, 0u);
}

TEST(uffd_wp, an_mremap_into_a_registered_neighbour_keeps_it_registered) {
  // What `sdmc explore --policy uffd-wp --pages 3 --depth 8` found before the consumer asked
  // for EVENT_REMAP (docs/designs.md): copy_vma merges the moved page into page 0's VMA, and
  // without the feature mremap_userfaultfd_prep unregisters that whole VMA; page 0's stale
  // uffd-wp bit then survives mprotect as a writable PTE and the last store is never seen
  // (kernel/tests/uffd-mremap-merge-drops-registration.sdt). With it, page 0 stays
  // registered, mprotect keeps the PTE write-protected (can_change_pte_writable honours
  // uffd-wp in a VM_UFFD_WP VMA) and the store faults and reads written.
  scenario s{under{"uffd-wp"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 1, "rw-");
  s.mmap(a + 2 * ps, 1, "rw-");
  s.write(a);
  s.clear_refs();
  EXPECT_EQ(s.mremap_fixed(a + 2 * ps, 1, 1, a + ps), ok(a + ps));
  s.expect_vmas(a, 2, 1);
  s.expect_flags(a, VM_UFFD_WP);
  s.mprotect(a, 1, "r--");
  s.mprotect(a, 1, "rw-");
  s.write(a);
  s.expect_sd(a, "10");
  s.finish();
  EXPECT_EQ(s.ghost.sd.false_negatives, 0u);
  EXPECT_EQ(s.ghost.written.false_negatives, 0u);
}

TEST(uffd_wp, a_new_mapping_carries_no_signal_by_design) {
  // The only per-mapping signal of soft-dirty is VM_SOFTDIRTY; write-protect has none: a new,
  // never written mapping reads not written (counted as lost new mappings).
  scenario s{under{"uffd-wp"}};
  const u64 g = s.guard(8), a = g + ps;
  s.mmap(a, 2, "rw-");
  s.clear_refs();
  s.mmap(a + 2 * ps, 2, "rw-");
  s.expect_sd(a, "0000");
  s.finish();
  // Judged at clear_refs (the 8 pages mapped before it) and at the end (the 2 new ones).
  EXPECT_EQ(s.ghost.sd.lost_new_mappings, 8u + 2u);
  EXPECT_FALSE(s.k.pol().signals_new_mappings());
}

}  // namespace
}  // namespace sdmc::test

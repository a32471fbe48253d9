// reclaim (`reclaim [ADDR LEN]` = MADV_PAGEOUT): mm/madvise.c:madvise_cold_or_pageout_pte_range,
// madvise_pageout -> reclaim_pages -> mm/vmscan.c:shrink_folio_list -> mm/rmap.c:
// try_to_unmap_one; swap-in: mm/memory.c:do_swap_page (kernel-6.12-semantics.md sections 3.1
// swap-in row, 3.2, 3.4 reclaim rows, 7, 8.3 "PAGEOUT", rule 5).
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(reclaim, private_anon_goes_to_swap_keeping_its_soft_dirty_bit) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  s.write(a);
  EXPECT_EQ(s.reclaim(a, 2), ok(0));
  // try_to_unmap_one:1944-1953: a swap PTE with _PAGE_SWP_SOFT_DIRTY iff the PTE had SD.
  s.expect_present(a, "00");
  s.expect_swapped(a, "11");
  s.expect_sd(a, "10");
  s.expect_exclusive(a, "00");  // bit 56 needs a present page
  s.expect_file(a, "00");
  // do_swap_page:4533-4534 restores SD from the swap PTE.
  s.read(a, 2);
  s.expect_present(a, "11");
  s.expect_swapped(a, "00");
  s.expect_sd(a, "10");
  s.expect_exclusive(a, "11");
  // 4546-4553: mapped writable only if !pte_needs_soft_dirty_wp: the clean page stays
  // read-only, so its next store faults and sets SD.
  EXPECT_TRUE(s.pte(a).write);
  EXPECT_FALSE(s.pte(a + ps).write);
  s.write(a + ps);
  s.expect_sd(a, "11");
}

TEST(reclaim, private_anon_without_swap_stays_where_it_is) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  s.write(a);
  EXPECT_EQ(s.reclaim(a, 1), ok(0));
  s.expect_present(a, "1");
  s.expect_swapped(a, "0");
  s.expect_sd(a, "1");
}

TEST(reclaim, shmem_pages_leave_the_page_tables_and_lose_soft_dirty_with_or_without_swap) {
  for (bool swap : {false, true}) {
    SCOPED_TRACE(swap ? "swap on" : "swap off");
    scenario s(swap);
    const u64 g = s.guard(8);
    const u64 m = g + 1 * ps;
    s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
    s.clear_refs();
    s.write(m);
    s.expect_sd(m, "10");
    // try_to_unmap_one:1957-1970: the PTE of a file folio is cleared; shmem's swap location
    // lives in the page cache, so no swap PTE and no bit 62 (section 4.1).
    EXPECT_EQ(s.reclaim(m, 2), ok(0));
    s.expect_present(m, "00");
    s.expect_swapped(m, "00");
    s.expect_sd(m, "00");
    // The data is retained: a read maps the page again, clean.
    s.read(m);
    s.expect_present(m, "10");
    s.expect_file(m, "10");
    s.expect_sd(m, "00");
  }
}

TEST(reclaim, a_shmem_page_mapped_twice_is_not_paged_out) {
  // madvise_cold_or_pageout_pte_range: folio_mapcount(folio) != folio_nr_pages(folio) -> skip.
  scenario s(/*swap=*/true);
  const u64 g = s.guard(16);
  const u64 m1 = g + 1 * ps, m2 = g + 4 * ps;
  s.mmap(m1, 1, "rw-", "shared file=m@0 fixed");
  s.mmap(m2, 1, "rw-", "shared file=m@0 fixed");
  s.write(m1);
  s.read(m2);
  s.reclaim(m1, 1);
  s.expect_present(m1, "1");
  s.expect_present(m2, "1");
}

TEST(reclaim, a_private_file_page_cache_page_is_unmapped) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 p = g + 1 * ps;
  s.mmap(p, 2, "r--", "private file=m@0 fixed");
  s.read(p);
  s.expect_file(p, "10");
  s.reclaim(p, 2);
  s.expect_present(p, "00");
  s.expect_swapped(p, "00");
}

TEST(reclaim, droppable_pages_are_dropped_even_when_dirty_and_never_swapped) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 d = g + 1 * ps;
  s.mmap(d, 2, "rw-", "droppable fixed");
  s.write(d, 2);
  s.clear_refs();
  s.write(d);
  // try_to_unmap_one:1885-1895: a droppable folio is discarded whatever its dirty state;
  // folio_add_new_anon_rmap never made it swap-backed.
  s.reclaim(d, 2);
  s.expect_present(d, "00");
  s.expect_swapped(d, "00");
  s.expect_sd(d, "00");
  s.read(d);  // zeros: the zero page
  s.expect_present(d, "10");
  s.expect_exclusive(d, "00");
}

TEST(reclaim, the_zero_page_stays_mapped) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.read(a);
  s.reclaim(a, 1);
  s.expect_present(a, "1");
  s.expect_swapped(a, "0");
}

TEST(reclaim, a_protected_anon_page_swaps_out_with_its_uffd_wp_bit) {
  // try_to_unmap_one:1948-1949: pte_uffd_wp -> pte_swp_mkuffd_wp; PAGEMAP_SCAN then reads
  // SWAPPED and not WRITTEN (pte_swp_uffd_wp_any).
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 u = g + 1 * ps;
  s.mmap(u, 1, "rw-");
  s.write(u);
  s.uffd_wp(u, 1);
  s.reclaim(u, 1);
  s.expect_swapped(u, "1");
  s.expect_uffd_wp(u, "1");
  s.expect_written(u, "0");
  s.read(u);  // swap-in keeps the uffd-wp bit
  s.expect_present(u, "1");
  s.expect_uffd_wp(u, "1");
  s.expect_written(u, "0");
}

TEST(reclaim, without_a_range_covers_every_mapping_but_skips_locked_ones) {
  scenario s(/*swap=*/true);
  const u64 g = s.guard(16);
  const u64 a = g + 1 * ps, b = g + 4 * ps, l = g + 8 * ps;
  s.mmap(a, 1, "rw-");
  s.mmap(b, 1, "rw-", "private fixed noreserve");
  s.mmap(l, 1, "rw-");
  s.write(a);
  s.write(b);
  s.mlock(l, 1);
  EXPECT_EQ(s.reclaim_all(), ok(0));
  s.expect_swapped(a, "1");
  s.expect_swapped(b, "1");
  s.expect_present(l, "1");  // can_madv_lru_vma: VM_LOCKED
  // With a range, the locked VMA makes MADV_PAGEOUT fail.
  EXPECT_EQ(s.reclaim(l, 1), err(EINVAL));
}

TEST(reclaim, a_swap_entry_of_an_unregistered_vma_reads_written) {
  // pagemap_page_category:2137-2151: a swap PTE is SWAPPED, and WRITTEN unless uffd-wp.
  scenario s(/*swap=*/true);
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.reclaim(a, 1);
  s.expect_swapped(a, "1");
  s.expect_written(a, "1");
  EXPECT_EQ(s.scan(a, 1), ok(1));
}

// ---------------------------------------------------------------------------------------------
// Bug 2 (reclaim / MADV_PAGEOUT of a uffd-wp protected shmem or file page): the PTE must be
// replaced by a PTE_MARKER_UFFD_WP, not left pte_none. mm/rmap.c:try_to_unmap_one:1815-1820
// calls pte_install_uffd_wp_if_needed() right after clearing the PTE, and
// include/linux/mm_inline.h:pte_install_uffd_wp_if_needed:560-593 installs the marker for a
// uffd-wp PTE of a non-anonymous VMA with VM_UFFD_WP. Semantics 6.5/4.1: a marker reads
// pagemap bit 62 and 57 and is not PAGE_IS_WRITTEN. The model (sim/madvise.cpp pageout_range)
// clears file PTEs to pte_none unconditionally, so the protected page reads WRITTEN (pte_none in
// an existing table) and the uffd-wp tracking is lost.
TEST(reclaim, a_protected_shmem_page_leaves_a_uffd_wp_marker) {
  // mm/rmap.c:try_to_unmap_one:1815-1820: "Now the pte is cleared. If this pte was uffd-wp
  // armed, we may want to replace a none pte with a marker pte if it's file-backed, so we
  // don't lose the tracking info": pte_install_uffd_wp_if_needed (mm_inline.h) installs
  // PTE_MARKER_UFFD_WP for a uffd-wp PTE of a non-anonymous uffd-wp VMA.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.uffd_wp(m, 1);
  s.read(m);
  s.expect_uffd_wp(m, "1");
  s.reclaim(m, 1);
  s.expect_present(m, "0");
  s.expect_swapped(m, "1");
  s.expect_uffd_wp(m, "1");
  s.expect_written(m, "0");
}

}  // namespace
}  // namespace sdmc::test

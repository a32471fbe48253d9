// Loads and stores (`read` / `write`): arch/x86/mm/fault.c:access_error and the fault paths of
// mm/memory.c (do_anonymous_page, do_read_fault, do_cow_fault, do_shared_fault, do_wp_page,
// wp_page_reuse, wp_page_copy, set_pte_range, do_fault_around) -- kernel-6.12-semantics.md
// sections 0, 3.1, 4.1, 8.3 "memory write" / "memory read", rule 8.
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

TEST(access, the_first_write_to_private_anon_maps_an_exclusive_soft_dirty_page) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.clear_refs();
  EXPECT_EQ(s.write(a), ok(0));
  // do_anonymous_page, write: writable + dirty; x86 pte_mkdirty sets soft-dirty too.
  s.expect_present(a, "1");
  s.expect_exclusive(a, "1");
  s.expect_file(a, "0");
  s.expect_sd(a, "1");
  pte_t p = s.pte(a);
  EXPECT_TRUE(p.write);
  EXPECT_TRUE(p.dirty);
  EXPECT_TRUE(p.soft_dirty);
}

TEST(access, the_first_read_maps_the_zero_page_and_a_write_then_copies) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-");
  s.clear_refs();
  EXPECT_EQ(s.read(a), ok(0));
  // do_anonymous_page, read: the shared zero page, read-only, not soft-dirty; vm_normal_page()
  // is NULL, so neither bit 56 nor bit 61.
  s.expect_present(a, "1");
  s.expect_sd(a, "0");
  s.expect_exclusive(a, "0");
  s.expect_file(a, "0");
  EXPECT_FALSE(s.pte(a).write);
  // do_wp_page -> wp_page_copy: a new exclusive anon page, pte_mkdirty -> soft-dirty.
  s.write(a);
  s.expect_sd(a, "1");
  s.expect_exclusive(a, "1");
}

TEST(access, clear_refs_write_protects_so_the_next_store_faults_and_sets_soft_dirty) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.write(a, 2);
  s.clear_refs();
  EXPECT_FALSE(s.pte(a).write);
  EXPECT_FALSE(s.pte(a).soft_dirty);
  s.write(a);  // do_wp_page -> wp_page_reuse:3260: pte_mkdirty
  EXPECT_TRUE(s.pte(a).write);
  s.expect_sd(a, "10");
  s.read(a + ps);  // reads change nothing
  s.expect_sd(a, "10");
}

TEST(access, a_store_through_a_writable_pte_takes_no_fault_and_sets_no_soft_dirty) {
  // Section 0: the CPU sets _PAGE_DIRTY itself and never soft-dirty. Rule 8: a shmem read
  // fault while VM_SOFTDIRTY is set installs a writable clean PTE (vm_page_prot writable:
  // vma_wants_writenotify is false with tracking disabled).
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.read(m);
  EXPECT_TRUE(s.pte(m).write);
  EXPECT_FALSE(s.pte(m).dirty);
  EXPECT_FALSE(s.pte(m).soft_dirty);
  s.write(m);
  EXPECT_TRUE(s.pte(m).dirty);
  EXPECT_FALSE(s.pte(m).soft_dirty);
  s.expect_sd(m, "1");  // only through VM_SOFTDIRTY
}

TEST(access, a_shmem_read_after_clear_refs_maps_the_page_read_only) {
  // clear_refs_write:1605-1606 recomputes vm_page_prot when it clears VM_SOFTDIRTY, so read
  // faults build read-only PTEs (set_pte_range from vm_page_prot) and stores fault.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.clear_refs();
  s.read(m);
  s.expect_present(m, "1");
  s.expect_file(m, "1");
  EXPECT_FALSE(s.pte(m).write);
  s.expect_sd(m, "0");
  s.write(m);  // wp_page_shared -> wp_page_reuse: soft-dirty
  s.expect_sd(m, "1");
  EXPECT_TRUE(s.pte(m).write);
}

TEST(access, a_store_to_a_read_only_vma_is_sigsegv_and_changes_nothing) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 r = g + 1 * ps;
  s.mmap(r, 1, "r--");
  s.clear_refs();
  // access_error: a write needs VM_WRITE.
  EXPECT_EQ(s.write(r), sigsegv());
  s.expect_present(r, "0");
  s.expect_sd(r, "0");
  EXPECT_EQ(s.read(r), ok(0));
  s.expect_present(r, "1");
}

TEST(access, prot_none_and_unmapped_addresses_are_sigsegv) {
  scenario s;
  const u64 g = s.guard(8);
  EXPECT_EQ(s.read(g), sigsegv());
  EXPECT_EQ(s.write(g), sigsegv());
  EXPECT_EQ(s.read(g + 64 * ps), sigsegv());
  EXPECT_EQ(s.write(g + 64 * ps), sigsegv());
  s.expect_present(g, "00000000");
}

TEST(access, a_multi_page_store_stops_at_the_first_refused_page) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 2, "rw-");
  s.mmap(a + 2 * ps, 1, "r--");
  s.mmap(a + 3 * ps, 1, "rw-");
  // "page by page in ascending order, stopping at the first page the kernel refuses".
  EXPECT_EQ(s.write(a, 4), sigsegv());
  s.expect_present(a, "1100");
}

TEST(access, a_store_covers_every_page_its_bytes_overlap) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 3, "rw-");
  s.clear_refs();
  EXPECT_EQ(s.op(line("write {} 2", a + ps - 1)), ok(0));  // the last byte of a[0], first of a[1]
  s.expect_sd(a, "110");
  s.expect_present(a, "110");
}

TEST(access, a_shared_page_mapped_twice_is_not_exclusive) {
  scenario s;
  const u64 g = s.guard(16);
  const u64 m1 = g + 1 * ps, m2 = g + 4 * ps;
  s.mmap(m1, 1, "rw-", "shared file=m@0 fixed");
  s.mmap(m2, 1, "rw-", "shared file=m@0 fixed");
  s.write(m1);
  // do_shared_fault: the page-cache page itself (bit 61), mapped once so far.
  s.expect_file(m1, "1");
  s.expect_exclusive(m1, "1");
  s.read(m2);
  // bit 56: folio_precise_page_mapcount == 1; now it is 2.
  s.expect_present(m2, "1");
  s.expect_file(m2, "1");
  s.expect_exclusive(m1, "0");
  s.expect_exclusive(m2, "0");
}

TEST(access, a_private_file_page_is_the_page_cache_page_until_a_store_copies_it) {
  // Section 4.1: private file mappings report 61 for pages read but not written, 0 after COW.
  scenario s;
  const u64 g = s.guard(8);
  const u64 p = g + 1 * ps;
  s.mmap(p, 1, "rw-", "private file=m@0 fixed");
  s.clear_refs();
  s.read(p);
  s.expect_present(p, "1");
  s.expect_file(p, "1");
  s.expect_sd(p, "0");
  EXPECT_FALSE(s.pte(p).write);  // private: vm_page_prot is the COW protection
  s.write(p);                     // do_wp_page -> wp_page_copy
  s.expect_file(p, "0");
  s.expect_exclusive(p, "1");
  s.expect_sd(p, "1");
}

TEST(access, a_shmem_read_fault_maps_already_cached_neighbours_too) {
  // Rule 8, third bullet: do_fault_around -> filemap_map_pages maps the cached pages of the
  // fault_around_bytes window (16 pages) that are pte_none, clean and not soft-dirty.
  scenario s;
  const u64 g = s.guard(32);
  const u64 t = g + 1 * ps, m = g + 8 * ps;
  s.mmap(t, 4, "rw-", "shared file=f@0 fixed");
  s.write(t, 4);  // all four pages are now in the page cache
  s.mmap(m, 4, "rw-", "shared file=f@0 fixed");
  s.clear_refs();
  s.read(m);
  s.expect_present(m, "1111");
  s.expect_sd(m, "0000");
  s.expect_file(m, "1111");
}

TEST(access, the_fault_around_window_is_aligned_in_the_page_table_and_clamped_to_the_vma) {
  // mm/memory.c:do_fault_around: from_pte = max(ALIGN_DOWN(pte_off, 16), pte_off - vma_off),
  // to_pte = min3(from_pte + 16, PTRS_PER_PTE, pte_off + vma_pages - vma_off) - 1.
  // The VMA spans PTE indices [10, 30) of its table; a read at index 20 maps [16, 30).
  scenario s;
  const u64 g = s.guard(64);
  const u64 t = g + 32 * ps, m = g + 10 * ps;
  s.mmap(t, 20, "rw-", "shared file=w@0 fixed");
  s.write(t, 20);  // the whole file is in the page cache
  s.mmap(m, 20, "rw-", "shared file=w@0 fixed");
  s.read(m + 10 * ps);
  s.expect_present(m, "00000011111111111111");
}

// ---------------------------------------------------------------------------------------------
// Beyond the end of the file: SIGBUS. The format grows a memory file at each mmap only, so a
// file mapping reaches past i_size when mremap grows it. mm/shmem.c:shmem_fault ->
// shmem_get_folio_gfp(SGP_CACHE) returns -EINVAL for an index >= i_size; vmf_error makes that
// VM_FAULT_SIGBUS and arch/x86/mm/fault.c:do_sigbus sends SIGBUS.

TEST(access, a_shared_memfd_page_that_mremap_grew_beyond_the_file_is_sigbus) {
  // do_read_fault and do_shared_fault both end in __do_fault -> shmem_fault: nothing is mapped
  // and the page cache is untouched.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");  // i_size: 2 pages
  s.munmap(m + 2 * ps, 2);
  EXPECT_EQ(s.mremap(m, 2, 4), ok(m));
  s.expect_vma(m, m, m + 4 * ps);
  EXPECT_EQ(s.read(m + 2 * ps), sigbus());
  EXPECT_EQ(s.write(m + 3 * ps), sigbus());
  s.expect_present(m, "0000");
  const memfile& f = s.k.mm.file(s.vma(m).v.file);
  EXPECT_EQ(f.size_pages, 2u);
  EXPECT_TRUE(f.cached.empty());
  EXPECT_TRUE(f.written.empty());
}

TEST(access, a_range_is_accessed_up_to_the_first_page_beyond_the_file) {
  // Page by page in ascending order, stopping at the first page the kernel refuses: the pages
  // below i_size are stored to (and reach the file), the rest are not touched.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.munmap(m + 2 * ps, 2);
  s.mremap(m, 2, 4);
  s.clear_refs();
  EXPECT_EQ(s.write(m, 4), sigbus());
  s.expect_present(m, "1100");
  s.expect_sd(m, "1100");
  const memfile& f = s.k.mm.file(s.vma(m).v.file);
  EXPECT_EQ(f.written, pset(prange(0, 2)));
  EXPECT_EQ(f.dirty, pset(prange(0, 2)));
  EXPECT_EQ(s.read(m + ps, 3), sigbus());
  EXPECT_EQ(s.read(m, 2), ok(0));
}

TEST(access, a_later_mmap_that_grows_the_file_makes_the_pages_accessible) {
  // i_size is read at each fault: once an mmap of the file has grown it (ftruncate to
  // OFFSET+LEN), the same pages fault in.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 1, "rw-", "shared file=m@0 fixed");
  s.munmap(m + ps, 2);
  s.mremap(m, 1, 3);
  EXPECT_EQ(s.write(m + 2 * ps), sigbus());
  s.mmap(g + 6 * ps, 1, "r--", "shared file=m@2p fixed");  // grows m to 3 pages
  EXPECT_EQ(s.write(m, 3), ok(0));
  s.expect_present(m, "111");
}

TEST(access, a_private_file_page_beyond_the_file_is_sigbus_for_loads_and_stores) {
  // do_read_fault maps the page-cache page and do_cow_fault copies it: both read it through
  // shmem_fault first. do_cow_fault calls vmf_anon_prepare before __do_fault, so a refused
  // store leaves the VMA with an anon_vma (and nothing mapped); a refused load does not.
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "rw-", "private file=p@0 fixed");
  s.munmap(a + ps, 1);
  EXPECT_EQ(s.mremap(a, 1, 2), ok(a));
  EXPECT_EQ(s.read(a + ps), sigbus());
  EXPECT_EQ(s.vma(a).v.anon_vma, 0u);
  EXPECT_EQ(s.write(a + ps), sigbus());
  EXPECT_NE(s.vma(a).v.anon_vma, 0u);
  s.expect_present(a, "00");
  EXPECT_EQ(s.write(a, 2), sigbus());
  s.expect_present(a, "10");
  s.expect_exclusive(a, "10");
}

TEST(access, the_read_only_open_is_sigbus_beyond_the_file_too) {
  scenario s;
  const u64 g = s.guard(8);
  const u64 a = g + 1 * ps;
  s.mmap(a, 1, "r--", "shared file=m@0 ro fixed");
  s.munmap(a + ps, 1);
  s.mremap(a, 1, 2);
  EXPECT_EQ(s.read(a, 2), sigbus());
  s.expect_present(a, "10");
  EXPECT_EQ(s.write(a + ps), sigsegv());  // access_error comes first: no VM_WRITE
}

TEST(access, a_shared_anonymous_mapping_is_sigbus_beyond_its_first_length) {
  // mm/shmem.c:shmem_zero_setup gives the mapping's shmem file the length of the mmap
  // (vm_end - vm_start) and pgoff 0; shmem_anon_vm_ops has the same shmem_fault. What mremap
  // adds, in place or by a growing move, is beyond i_size.
  scenario s;
  const u64 g = s.guard(16);
  const u64 a = g + 1 * ps, d = g + 8 * ps;
  s.mmap(a, 2, "rw-", "shared fixed");
  s.munmap(a + 2 * ps, 1);
  EXPECT_EQ(s.mremap(a, 2, 3), ok(a));
  EXPECT_EQ(s.write(a, 3), sigbus());
  s.expect_present(a, "110");
  EXPECT_EQ(s.mremap_fixed(a, 3, 4, d), ok(d));
  EXPECT_EQ(s.read(d, 4), sigbus());
  EXPECT_EQ(s.write(d + 3 * ps), sigbus());
  s.expect_present(d, "1100");
}

TEST(access, fault_around_at_a_page_beyond_the_file_maps_the_cached_pages_below_it) {
  // do_read_fault calls do_fault_around before ->fault: filemap_map_pages clamps its window to
  // file_end = DIV_ROUND_UP(i_size, PAGE_SIZE) - 1 and maps the cached pages in it; then
  // shmem_fault refuses the faulting page itself.
  scenario s;
  const u64 g = s.guard(8);
  const u64 m = g + 1 * ps;
  s.mmap(m, 2, "rw-", "shared file=m@0 fixed");
  s.write(m, 2);
  s.madvise(m, 2, "dontneed");  // the page cache keeps both pages
  s.munmap(m + 2 * ps, 2);
  s.mremap(m, 2, 4);
  s.expect_present(m, "0000");
  EXPECT_EQ(s.read(m + 3 * ps), sigbus());
  s.expect_present(m, "1100");
}

TEST(access, a_refused_fault_leaves_no_page_table_behind) {
  // The PTE table do_fault (__do_fault) preallocates is freed when ->fault fails, and
  // filemap_map_pmd installs one only when fault-around found a folio. PAGEMAP_SCAN tells:
  // a hole without a table is not PAGE_IS_WRITTEN outside uffd-wp, pte_none in a table is.
  scenario s;
  s.guard(16, G + PMD - 8 * ps);
  const u64 m = G + PMD - ps;  // the last page of a table; the grown page is in the next
  s.mmap(m, 1, "rw-", "shared file=t@0 fixed");
  s.munmap(m + ps, 1);
  s.mremap(m, 1, 2);
  EXPECT_EQ(s.read(m + ps), sigbus());
  EXPECT_EQ(s.write(m + ps), sigbus());
  EXPECT_FALSE(s.k.mm.has_table(pfn(m + ps)));
  s.expect_written(m + ps, "0");
  EXPECT_EQ(s.read(m), ok(0));
  s.expect_written(m, "10");
}

TEST(access, a_uffd_wp_marker_beyond_the_file_survives_the_sigbus) {
  // pte_marker_handle_uffd_wp -> do_pte_missing -> do_fault (no fault-around while uffd-wp is
  // registered): the fault fails before the PTE is touched, so the marker stays.
  scenario s;
  const u64 g = s.guard(8);
  const u64 u = g + 1 * ps;
  s.mmap(u, 1, "rw-", "shared file=u@0 fixed");
  s.munmap(u + ps, 1);
  s.mremap(u, 1, 2);
  EXPECT_EQ(s.uffd_wp(u, 2), ok(0));
  s.expect_uffd_wp(u, "11");
  EXPECT_EQ(s.read(u + ps), sigbus());
  EXPECT_EQ(s.write(u + ps), sigbus());
  s.expect_uffd_wp(u, "11");
  s.expect_written(u, "00");
  EXPECT_EQ(s.write(u), ok(0));
  s.expect_written(u, "10");
}

}  // namespace
}  // namespace sdmc::test

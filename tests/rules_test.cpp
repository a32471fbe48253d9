// The ten rules of kernel-6.12-semantics.md section 9 that the trace format can express, and the
// reproducing sequences A, B, B', C and D of section 2.5, each as one scenario. Every sequence
// is built inside a PROT_NONE guard reservation with VMAs smaller than 2 MiB and no memory
// pressure, as section 9 assumes. Notation of the document: CR = clear_refs, sd(x) = bit 55.
//
// Exempt (not expressible in sdtrace v1, or THP/hugetlb/DMA-pinning rules):
//  - rule 6, clear_refs does not reach DMA-pinned pages (pte_is_pinned), hugetlb PTEs or
//    VM_PFNMAP PTEs: the trace format has no pinning, MAP_HUGETLB or PFN mappings;
//  - rule 7, THP makes soft-dirty coarse and adds spurious bits: THP is out of scope.
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

// --- Section 9 ---------------------------------------------------------------------------

TEST(rules, rule01_merging_mmap_or_brk_redirties_the_neighbour) {
  // Rule 1: mm/mmap.c:__mmap_region:1572 sets VM_SOFTDIRTY on the whole merged VMA;
  // do_brk_flags:1858 on the whole heap VMA.
  scenario s;
  const u64 g = s.guard(16);
  const u64 a = g + ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  s.expect_sd(a, "0");
  s.mmap(g + 2 * ps, 1, "rw-");
  s.expect_sd(a, "1");
  s.expect_vmas(a, 2, 1);  // "/proc/self/maps: one VMA"

  // MAP_FIXED of a single page inside a clean VMA: the remnants re-merge with it.
  const u64 c = g + 8 * ps;
  s.mmap(c, 3, "rw-");
  s.write(c, 3);
  s.clear_refs();
  s.mmap(c + ps, 1, "rw-");
  s.expect_vmas(c, 3, 1);
  s.expect_sd(c, "111");

  // brk growth.
  scenario h;
  const u64 H = 0x600000000000;
  h.guard(16, H);
  h.munmap(H + ps, 11);
  h.brk(H + ps, H + 2 * ps);
  h.write(H + ps);
  h.clear_refs();
  h.expect_sd(H + ps, "0");
  h.brk(H + 2 * ps, H + 3 * ps);
  h.expect_sd(H + ps, "11");
  h.expect_vmas(H + ps, 2, 1);
}

TEST(rules, rule02_merge_flag_winner_depends_on_the_caller) {
  // Rule 2: mprotect/madvise/mlock merges take the modified VMA's flags
  // (mm/mprotect.c:mprotect_fixup:677 vm_flags_reset(vma, newflags)); mremap/uffd merges take
  // the absorbing neighbour's (mm/vma.c:copy_vma -> vma_merge_new_range, target keeps its flags).
  // 6.12.117 lacks bf14d4a05387 "mm: propagate VM_SOFTDIRTY on merge".
  scenario s;
  const u64 g = s.guard(8);
  // Sequence (B).
  const u64 x = g + ps, p = g + 2 * ps;
  s.mmap(x, 1, "r--");
  s.clear_refs();
  s.mmap(p, 1, "rw-");
  s.expect_sd(p, "1");
  s.mprotect(x, 1, "rw-");
  s.expect_sd(p, "0");
  s.expect_vmas(x, 2, 1);

  // Sequence (A).
  scenario t;
  const u64 r = t.guard(8);
  const u64 a = r + ps, b = r + 3 * ps;
  t.mmap(a, 1, "rw-");
  t.clear_refs();
  t.mmap(b, 1, "rw-");
  t.expect_sd(b, "1");
  EXPECT_EQ(t.mremap_fixed(b, 1, 1, r + 2 * ps), ok(r + 2 * ps));
  t.expect_sd(r + 2 * ps, "0");
}

TEST(rules, rule03_a_flag_lost_by_a_merge_loses_real_writes_on_shmem) {
  // Rule 3 / section 2.4: mm/madvise.c:madvise_update_vma:160 resets the flags without
  // vma_set_page_prot, so the merged shmem VMA keeps a writable vm_page_prot
  // (mm/vma.c:vma_wants_writenotify:1930 was false while VM_SOFTDIRTY was set), and
  // fs/proc/task_mmu.c:clear_refs_write:1603 skips the already clean VMA.
  scenario s;
  const u64 g = s.guard(8);
  const u64 x = g + ps;
  s.mmap(x, 1, "rw-", "shared file=fd@0 fixed");
  s.madvise(x, 1, "random");
  s.clear_refs();
  s.mmap(g + 2 * ps, 1, "rw-", "shared file=fd@1p fixed");
  s.madvise(x, 1, "normal");
  s.clear_refs();
  s.read(x);
  s.write(x);
  s.expect_sd(x, "0");  // a write after the last clear_refs, not reported
}

TEST(rules, rule04_mremap_marks_moved_ptes_but_never_creates_vm_softdirty) {
  // Rule 4: mm/mremap.c:move_ptes -> move_soft_dirty_pte:121-134 for every moved present or
  // swap PTE; pte_none stays none; move_normal_pmd:248-312 relinks a whole table verbatim.
  scenario s;
  const u64 src = 0x100000000 + 16 * ps;  // no guard below: free
  s.guard(16, 0x100100000);
  const u64 dst = 0x100100000 + 3 * ps;   // inside a guard, not co-aligned with src
  s.mmap(src, 4, "rw-", "private");
  s.read(src);  // the zero page
  s.clear_refs();
  s.expect_sd(src, "0000");
  EXPECT_EQ(s.mremap_fixed(src, 4, 4, dst), ok(dst));
  s.expect_sd(dst, "1000");
  s.expect_present(dst, "1000");
  s.expect_flags(dst, 0, VM_SOFTDIRTY);

  // Grow-in-place tail: sd = the VMA's flag, 0 after CR.
  scenario t;
  const u64 a = t.guard(8) + ps;
  t.mmap(a, 1, "rw-");
  t.munmap(a + ps, 1);
  t.clear_refs();
  t.mremap(a, 1, 2);
  t.expect_sd(a, "00");

  // 2 MiB-aligned source and destination with a 2 MiB extent: the table moves, sd(b) stays 0.
  scenario u;
  const u64 m = 0x200000000, b = 0x400000000;
  u.mmap(m, 512, "rw-", "private");
  u.madvise(m, 512, "nohugepage");
  u.read(m);
  u.clear_refs();
  EXPECT_EQ(u.mremap_fixed(m, 512, 512, b), ok(b));
  u.expect_sd(b, "00");
  u.expect_present(b, "10");
}

TEST(rules, rule05_bit55_is_lost_whenever_the_pte_is_cleared_rather_than_converted) {
  // Rule 5: mm/rmap.c:try_to_unmap_one:1957-1970 clears file/shmem PTEs (no swap PTE);
  // 1944-1953 keeps _PAGE_SWP_SOFT_DIRTY for private anon swap-out.
  scenario s(/*swap=*/true);
  const u64 g = s.guard(16);
  const u64 m = g + ps;
  s.mmap(m, 1, "rw-", "shared file=s@0 fixed");
  s.clear_refs();
  s.write(m);
  s.expect_sd(m, "1");
  s.madvise(m, 1, "pageout");
  s.expect_sd(m, "0");
  s.expect_present(m, "0");
  s.expect_swapped(m, "0");

  const u64 p = g + 4 * ps;
  s.mmap(p, 1, "rw-");
  s.clear_refs();
  s.write(p);
  s.madvise(p, 1, "pageout");
  s.expect_sd(p, "1");
  s.expect_swapped(p, "1");

  // The other clearing paths of the rule, each on a page that reads 1 right before:
  const u64 q = g + 7 * ps, d = g + 11 * ps;
  s.mmap(q, 3, "rw-");
  s.mmap(d, 1, "rw-", "droppable fixed");
  s.clear_refs();
  s.write(q, 3);
  s.write(d);
  s.write(p);                   // swap-in by a store: soft-dirty ...
  s.madvise(p, 1, "pageout");   // ... and out again with _PAGE_SWP_SOFT_DIRTY
  s.expect_sd(q, "111");
  s.expect_sd(d, "1");
  s.expect_sd(p, "1");
  s.madvise(q, 1, "dontneed");       // MADV_DONTNEED: zap_pte_range
  s.madvise(q + 2 * ps, 1, "free");  // MADV_FREE keeps the PTE ...
  s.reclaim(q + 2 * ps, 1);          // ... reclaim discards the clean lazyfree page
  s.madvise(p, 1, "free");           // MADV_FREE of a swapped page clears the swap PTE
  s.reclaim(d, 1);                   // a MAP_DROPPABLE page is dropped although dirty
  s.expect_sd(q, "010");
  s.expect_present(q, "010");
  s.expect_sd(p, "0");
  s.expect_swapped(p, "0");
  s.expect_sd(d, "0");
  s.expect_present(d, "0");
  // munmap + remap: the new VMA is soft-dirty (mmap), but the PTE is gone for good.
  s.munmap(q + ps, 1);
  s.mmap(q + ps, 1, "rw-");
  s.clear_refs();
  s.expect_sd(q + ps, "0");
  s.expect_present(q + ps, "0");
}

TEST(rules, rule08_read_faults_set_no_soft_dirty_and_shmem_ptes_may_be_writable) {
  // Rule 8: mm/memory.c:do_anonymous_page:4757-4777 maps the zero page; set_pte_range:5015-5032
  // builds a read-fault PTE from vm_page_prot (writable for shmem while VM_SOFTDIRTY is set),
  // without SD; do_fault_around:5255 maps cached neighbours.
  scenario s;
  const u64 g = s.guard(32);
  const u64 a = g + ps;
  s.mmap(a, 1, "rw-");
  s.clear_refs();
  s.read(a);
  s.expect_present(a, "1");
  s.expect_file(a, "0");
  s.expect_exclusive(a, "0");
  s.expect_sd(a, "0");
  s.write(a);
  s.expect_sd(a, "1");

  const u64 m = g + 4 * ps;  // shmem, VM_SOFTDIRTY set (fresh)
  s.mmap(m, 1, "rw-", "shared file=sh@0 fixed");
  s.read(m);
  EXPECT_TRUE(s.pte(m).write);
  s.write(m);
  EXPECT_FALSE(s.pte(m).soft_dirty);  // no PTE SD ...
  s.expect_sd(m, "1");                // ... reported only because of the VMA flag

  // Fault-around: s = mmap(4ps, shared memfd); all 4 pages written through another mapping.
  const u64 other = g + 8 * ps, sm = g + 16 * ps;
  s.mmap(other, 4, "rw-", "shared file=fa@0 fixed");
  s.write(other, 4);
  s.mmap(sm, 4, "rw-", "shared file=fa@0 fixed");
  s.read(sm);
  s.expect_present(sm, "1111");
}

TEST(rules, rule09_pagemap_bit62_is_set_for_uffd_wp_markers) {
  // Rule 9: fs/proc/task_mmu.c:pte_to_pagemap_entry:1729-1755 reports every non-present
  // non-none entry, uffd-wp markers included, as PM_SWAP (62), with 57 for the marker;
  // a read of a marker maps the zero page with uffd-wp (do_anonymous_page:4834-4835); a store
  // resolves it in async mode and sets SD (do_wp_page:3665-3681).
  scenario s;
  const u64 g = s.guard(8);
  const u64 u = g + ps;
  s.mmap(u, 4, "rw-");
  s.uffd_wp(u, 4);
  EXPECT_EQ(s.scan(u, 4, "wp"), ok(0));  // nothing written since protection
  s.expect_swapped(u, "1111");
  s.expect_uffd_wp(u, "1111");
  s.expect_present(u, "0000");
  s.clear_refs();
  s.read(u);
  s.expect_present(u, "1000");
  s.expect_uffd_wp(u, "1111");
  s.expect_swapped(u, "0111");
  s.write(u);
  s.expect_uffd_wp(u, "0111");
  s.expect_sd(u, "1000");

  // Never set for swapped shmem or droppable pages; bit 63 stays 1 under PROT_NONE.
  scenario t(/*swap=*/true);
  const u64 h = t.guard(8);
  const u64 m = h + ps, d = h + 3 * ps, n = h + 5 * ps;
  t.mmap(m, 1, "rw-", "shared file=sw@0 fixed");
  t.mmap(d, 1, "rw-", "droppable fixed");
  t.mmap(n, 1, "rw-");
  t.write(m);
  t.write(d);
  t.write(n);
  t.reclaim(m, 1);
  t.reclaim(d, 1);
  t.mprotect(n, 1, "---");
  t.expect_swapped(m, "0");
  t.expect_swapped(d, "0");
  t.expect_present(n, "1");
}

TEST(rules, rule10_page_is_written_depends_on_page_table_existence) {
  // Rule 10: fs/proc/task_mmu.c:pagemap_page_category:2105-2117 (pte_none in a table is
  // WRITTEN) against pagemap_scan_pte_hole:2729-2731 (a hole is not, outside uffd-wp VMAs);
  // fast path 1 of pagemap_scan_pmd_entry:2520-2534 (WP without a vector protects every PTE).
  scenario s;
  const u64 m = 0x200000000;  // 2 MiB aligned, 4 MiB long
  s.mmap(m, 1024, "rw-", "private");
  s.madvise(m, 1024, "nohugepage");
  s.write(m);
  EXPECT_EQ(s.scan(m, 1024), ok(1));
  EXPECT_EQ(s.written(m, 1024), std::string(512, '1') + std::string(512, '0'));

  scenario t;
  const u64 u = t.guard(8) + ps;
  t.mmap(u, 4, "rw-");
  t.uffd_wp(u, 4);
  t.write(u, 2);
  t.madvise(u + ps, 1, "dontneed");
  t.expect_written(u, "1100");
  EXPECT_EQ(t.scan(u, 4, "wp vec=0"), ok(0));
  t.expect_written(u, "0000");
}

// --- Section 2.5 -------------------------------------------------------------------------

TEST(sequences, A_mremap_move_merge_loses_vm_softdirty) {
  // mm/mremap.c:mremap_to:978 unmaps r+2ps; mm/vma.c:copy_vma:1662-1665 re-bases the unfaulted
  // b, vma_merge_new_range makes vma_expand(a) absorb the new range and b (a's flags, clean),
  // copy_vma:1703-1718 moves nothing, move_vma's do_vmi_munmap (852) removes [r+3ps, r+4ps).
  scenario s;
  const u64 r = s.guard(5);
  const u64 a = r + ps, b = r + 3 * ps;
  EXPECT_EQ(s.mmap(a, 1, "rw-"), ok(a));
  s.clear_refs();
  EXPECT_EQ(s.mmap(b, 1, "rw-"), ok(b));
  s.expect_sd(b, "1");
  EXPECT_EQ(s.mremap_fixed(b, 1, 1, r + 2 * ps), ok(r + 2 * ps));
  s.expect_vmas(a, 2, 1);
  s.expect_vma(a, a, r + 3 * ps);
  s.expect_flags(a, VM_ACCOUNT, VM_SOFTDIRTY);
  s.expect_sd(r + 2 * ps, "0");  // the fixed kernel reports 1
  s.expect_sd(r + ps, "0");      // the fixed kernel reports 1
  s.expect_vmas(b, 1, 0);

  // "If b had been written before the move, it would have an anon_vma": its pgoff stays at the
  // source, no merge, a vm_area_dup of b (SD=1), and its moved PTE is soft-dirty anyway.
  scenario t;
  const u64 r2 = t.guard(5);
  t.mmap(r2 + ps, 1, "rw-");
  t.clear_refs();
  t.mmap(r2 + 3 * ps, 1, "rw-");
  t.write(r2 + 3 * ps);
  EXPECT_EQ(t.mremap_fixed(r2 + 3 * ps, 1, 1, r2 + 2 * ps), ok(r2 + 2 * ps));
  t.expect_vmas(r2 + ps, 2, 2);
  t.expect_flags(r2 + 2 * ps, VM_SOFTDIRTY);
  t.expect_sd(r2 + ps, "01");
  EXPECT_TRUE(t.pte(r2 + 2 * ps).soft_dirty);
}

TEST(sequences, B_mprotect_merge_private_anon) {
  // mm/mprotect.c:mprotect_fixup: newflags of x (RW|ACCOUNT, SD clear) equal p's modulo SD and
  // p's pgoff is x's + 1, so vma_merge_existing_range merges right (p grows over x, x deleted),
  // then vm_flags_reset(p, newflags) (677).
  scenario s;
  const u64 r = s.guard(4);
  const u64 x = r + ps, p = r + 2 * ps;
  s.mmap(x, 1, "r--");
  s.clear_refs();
  s.mmap(p, 1, "rw-");
  s.expect_vmas(x, 2, 2);  // flags differ in VM_WRITE / VM_ACCOUNT
  s.expect_sd(p, "1");
  EXPECT_EQ(s.mprotect(x, 1, "rw-"), ok(0));
  s.expect_vmas(x, 2, 1);
  s.expect_vma(x, x, p + ps);
  s.expect_flags_exactly(x, VM_READ | VM_WRITE | VM_MAY | VM_ACCOUNT);
  s.expect_sd(p, "0");  // p untouched, its VM_SOFTDIRTY lost

  // "If p had been written, its PTE soft-dirty bit would still report 1."
  scenario t;
  const u64 r2 = t.guard(4);
  t.mmap(r2 + ps, 1, "r--");
  t.clear_refs();
  t.mmap(r2 + 2 * ps, 1, "rw-");
  t.write(r2 + 2 * ps);
  t.mprotect(r2 + ps, 1, "rw-");
  t.expect_vmas(r2 + ps, 2, 1);
  t.expect_sd(r2 + ps, "01");
}

TEST(sequences, Bprime_mprotect_merge_loses_a_shmem_write) {
  // Section 2.4: p's vm_page_prot is writable (VM_SOFTDIRTY set at mmap, __mmap_region:1574),
  // the read of p[0] installs a writable clean PTE (set_pte_range); the mprotect merge clears
  // VM_SOFTDIRTY and recomputes vm_page_prot, but change_protection covers only x's page
  // (mprotect_fixup:682), so the store to p[0] does not fault.
  scenario s;
  const u64 r = s.guard(4);
  const u64 x = r + ps, p = r + 2 * ps;
  s.mmap(x, 1, "r--", "shared file=fd@0 fixed");
  s.clear_refs();
  s.mmap(p, 1, "rw-", "shared file=fd@1p fixed");
  s.read(p);
  EXPECT_TRUE(s.pte(p).write);
  EXPECT_FALSE(s.pte(p).soft_dirty);
  EXPECT_EQ(s.mprotect(x, 1, "rw-"), ok(0));
  s.expect_vmas(x, 2, 1);
  s.expect_flags(x, VM_WRITE | VM_SHARED, VM_SOFTDIRTY);
  EXPECT_FALSE(s.vma(p).v.page_prot_write);  // future faults are read-only ...
  EXPECT_TRUE(s.pte(p).write);               // ... but p[0]'s PTE stays writable
  EXPECT_EQ(s.write(p), ok(0));
  s.expect_sd(p, "0");  // a genuinely missed write
  s.expect_present(p, "1");
}

TEST(sequences, C_madvise_merge_keeps_a_stale_writable_prot_across_clear_refs) {
  // mm/madvise.c:madvise_update_vma:160 (no vma_set_page_prot); clear_refs_write:1603 skips the
  // already clean VMA; set_pte_range builds read-fault PTEs from the stale writable prot.
  scenario s;
  const u64 r = s.guard(4);
  const u64 x = r + ps, y = r + 2 * ps;
  s.mmap(x, 1, "rw-", "shared file=fd@0 fixed");
  s.madvise(x, 1, "random");
  s.clear_refs();
  s.mmap(y, 1, "rw-", "shared file=fd@1p fixed");
  s.expect_vmas(x, 2, 2);
  s.madvise(x, 1, "normal");
  s.expect_vmas(x, 2, 1);
  s.expect_flags(x, 0, VM_SOFTDIRTY | VM_RAND_READ);
  EXPECT_TRUE(s.vma(x).v.page_prot_write);  // the fresh VMA's prot, kept
  s.clear_refs();
  EXPECT_TRUE(s.vma(x).v.page_prot_write);  // not repaired
  s.read(x);
  s.write(x);
  s.expect_sd(x, "0");

  // The damage persists: in the next cycle, x[0] was mapped at clear_refs time, so it is
  // write-protected and tracked; y[0] is read before it is written and its write is missed.
  s.clear_refs();
  s.write(x);
  s.read(y);
  s.write(y);
  s.expect_sd(x, "10");
}

TEST(sequences, D_mmap_merge_over_reports) {
  // mm/mmap.c:__mmap_region:1572: the merged VMA, a included, gets VM_SOFTDIRTY.
  scenario s;
  const u64 r = s.guard(4);
  const u64 a = r + ps;
  s.mmap(a, 1, "rw-");
  s.write(a);
  s.clear_refs();
  s.expect_sd(a, "0");
  s.mmap(r + 2 * ps, 1, "rw-");
  s.expect_vmas(a, 2, 1);
  s.expect_sd(a, "1");  // a was not written
  s.expect_sd(r + 2 * ps, "1");
}

}  // namespace
}  // namespace sdmc::test

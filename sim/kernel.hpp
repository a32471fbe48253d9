// The kernel side of the model: Linux 6.12's system calls and faults, executed on an
// mm_struct, with every design-dependent decision delegated to a policy.
//
// Names follow the kernel (vma_merge_new_range, vma_modify, do_wp_page, clear_refs_write, ...)
// and each rule cites the function it comes from, so a reviewer can check it against the tree.
// Units: system calls take bytes as the trace gives them; internally everything is pages.
#pragma once

#include <boost/container/small_vector.hpp>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "model/mm.hpp"
#include "model/policy.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {

using trace::Result;

inline Result ok(std::uint64_t value) { return Result{Result::Kind::Value, value, 0}; }
inline Result err(int errno_value) { return Result{Result::Kind::Errno, 0, errno_value}; }
inline Result sigsegv() { return Result{Result::Kind::Sigsegv, 0, 0}; }
inline Result sigbus() { return Result{Result::Kind::Sigbus, 0, 0}; }

// The sysctl and environment knobs the model pins down (semantics 8.1).
inline constexpr std::size_t sysctl_max_map_count = 65530;  // DEFAULT_MAX_MAP_COUNT
inline constexpr pfn_t fault_around_pages = 16;            // mm/memory.c: 64 KiB default
inline constexpr std::uint64_t mmap_min_addr = 65536;      // CONFIG_DEFAULT_MMAP_MIN_ADDR

// What /proc/PID/pagemap reports for a page (fs/proc/task_mmu.c:pte_to_pagemap_entry), plus
// PAGEMAP_SCAN's PAGE_IS_WRITTEN and PAGE_IS_SOFT_DIRTY for a non-wp scan of the page.
struct pagemap_entry {
  bool soft_dirty = false;  // bit 55
  bool exclusive = false;   // bit 56
  bool uffd_wp = false;     // bit 57
  bool file = false;        // bit 61 (file page or shared-anon)
  bool swapped = false;     // bit 62
  bool present = false;     // bit 63
  bool written = false;     // PAGE_IS_WRITTEN
  bool sdscan = false;      // PAGE_IS_SOFT_DIRTY
  bool operator==(const pagemap_entry&) const = default;
};

// Hooks for the ghost oracle (sim/oracle.hpp): what really happened to each address.
class observer {
 public:
  virtual ~observer() = default;
  virtual void stored(pfn_t start, pfn_t end) = 0;           // stores went through [start,end)
  virtual void mapped_new(pfn_t start, pfn_t end) = 0;       // the mapping is new
  virtual void unmapped(pfn_t start, pfn_t end) = 0;         // addresses left the address space
  virtual void cleared_refs() = 0;                           // clear_refs 4 ran
  virtual void wp_reset(pfn_t start, pfn_t end) = 0;         // uffd-wp protection re-armed
  // mremap moved [src, src+src_pages) to [dst, dst+dst_pages) (dst_pages > src_pages: the
  // tail grew), or grew a VMA in place over [start,end). Both are new at these addresses.
  virtual void moved(pfn_t src, pfn_t src_pages, pfn_t dst, pfn_t dst_pages) {
    mapped_new(dst, dst + dst_pages);
  }
  virtual void grown_in_place(pfn_t start, pfn_t end) { mapped_new(start, end); }
  // After moved(): [start,end) of the destination received PTEs (present or swap) from the
  // source, which move_ptes marks soft-dirty (mm/mremap.c:move_soft_dirty_pte).
  virtual void moved_with_pte(pfn_t start, pfn_t end) {}
  // Soft-dirty was reset for [start,end) only (the uffd-wp design: a write-protect of the
  // range is its consumer's clear).
  virtual void sd_reset(pfn_t start, pfn_t end) {}
  // File/shmem PTEs of [start,end) were zapped while the page cache keeps the content.
  virtual void zapped_kept(pfn_t start, pfn_t end) {}
};

class kernel {
 public:
  kernel(const policy& pol, bool swap_on) : pol_(pol) { mm.has_swap = swap_on; }

  mm_struct mm;
  observer* obs = nullptr;
  const policy& pol() const { return pol_; }
  // The droppable design in effect: mm.droppable, or dirty-skip under its mutant.
  droppable_design droppable_mode() const;

  // --- system calls and accesses (results as the kernel returns them) --------------------
  Result sys_mmap(const trace::Mmap& op);
  Result sys_munmap(std::uint64_t addr, std::uint64_t len);
  Result sys_brk(std::uint64_t old_brk, std::uint64_t new_brk);
  Result sys_mprotect(std::uint64_t addr, std::uint64_t len, std::uint8_t prot);
  // `moved_to` is the destination of a move without `fixed` (the trace's `= ADDR`); when the
  // kernel would move but none is given, *needs_address is set and -EINVAL returned.
  Result sys_mremap(const trace::Mremap& op, std::optional<std::uint64_t> moved_to,
                    bool* needs_address = nullptr);
  Result sys_madvise(std::uint64_t addr, std::uint64_t len, trace::Advice advice);
  Result sys_mlock(std::uint64_t addr, std::uint64_t len, bool lock);
  Result access(std::uint64_t addr, std::uint64_t len, bool write);  // 0, SIGSEGV or SIGBUS
  Result clear_refs();
  Result uffd_wp(std::uint64_t addr, std::uint64_t len, bool event_remap = false);
  Result pagemap_scan(const trace::Scan& op);
  Result reclaim(std::optional<std::uint64_t> addr, std::optional<std::uint64_t> len);
  Result fork();

  // --- observation ------------------------------------------------------------------------
  pagemap_entry pagemap(pfn_t pfn) const;
  // Pages of [start,end) whose bit 55 reads 1, as intervals (cost follows intervals).
  pset soft_dirty_pages(pfn_t start, pfn_t end) const;
  // The VMA-level part of that (VM_SOFTDIRTY or the policy's per-page state), without the
  // PTE bits: what the oracle judges alongside the PTEs.
  pset vma_soft_dirty_pages(pfn_t start, pfn_t end) const;
  // Pages of [start,end) that a non-wp PAGEMAP_SCAN reports PAGE_IS_WRITTEN.
  pset written_pages(pfn_t start, pfn_t end) const;
  // Pages of [start,end) that a non-wp PAGEMAP_SCAN reports PAGE_IS_SOFT_DIRTY. The same pages
  // as soft_dirty_pages in 6.12 and every design, but in a VM_PFNMAP VMA (the scan skips it,
  // pagemap reads VM_SOFTDIRTY there) and under the mutants of pagemap_pte_hole's past.
  pset scan_soft_dirty_pages(pfn_t start, pfn_t end) const;
  // The two parts both answers are made of, added to `out`: a VMA's own (VM_SOFTDIRTY, or the
  // policy's per-page state) over [s,e) inside it, with `at` as the insertion hint; and the
  // soft-dirty PTEs of [start,end).
  void add_vma_soft_dirty(pset& out, pset::iterator& at, const vma_ref& vma, pfn_t s, pfn_t e) const;
  void add_pte_soft_dirty(pset& out, pfn_t start, pfn_t end) const;
  // Pages of [start,end) by PTE state.
  pset present_pages(pfn_t start, pfn_t end, bool data_only = false) const;
  pset swapped_pages(pfn_t start, pfn_t end, bool real_swap_only = false) const;

 private:
  const policy& pol_;

  // vma.cpp: merge, split, unmap (mm/vma.c)
  struct proposal {  // struct vma_merge_struct, the proposed range
    pfn_t start, end;
    vma_value v;     // flags, file, pgoff (via pgoff_delta for `start`), anon_vma
  };
  bool can_merge_after(const vma_ref& prev, const proposal& p) const;
  bool can_merge_before(const vma_ref& next, const proposal& p) const;
  static bool is_mergeable_anon_vma(anon_vma_id proposed, const vma_ref* existing);
  // Without `commit` the merged VMA is returned but not stored (the caller finishes it).
  std::optional<vma_ref> vma_merge_new_range(const proposal& p, merge_path path,
                                             bool just_expand, bool commit = true);
  // mm/vma.c:vma_modify: merge, or split off [start,end). Returns the VMA now covering exactly
  // [start,end) or more (after a merge), or an errno.
  struct modified {
    std::optional<vma_ref> vma;     // the VMA now covering [start,end) (more after a merge)
    int err = 0;                    // -errno
    bool merged = false;
    // For a merge: the target first, then the absorbed VMAs (three at most: no allocation).
    boost::container::small_vector<vma_value, 3> parts;
    std::span<const vma_value> merged_parts() const { return {parts.data(), parts.size()}; }
  };
  modified vma_merge_existing_range(const vma_ref& vma, pfn_t start, pfn_t end,
                                    vm_flags_t newflags);
  // The policy's on_merge for a merge that stored (`stored`) or will store `merged`, and the
  // vm_page_prot recompute of policy::merge_sets_page_prot; true when it recomputed it.
  bool merge_handover(const vma_ref& merged, std::span<const std::uint32_t> absorbed, bool stored);
  // policy::merge_sets_page_prot: a policy hook (a merge, a move) handed `vma` clean state; if
  // it tracked nothing before (`tracked_before`) and does now, its vm_page_prot was set without
  // write-notify and is recomputed. True when it was.
  bool prot_follows_handover(const vma_ref& vma, bool tracked_before);

  modified vma_modify(const vma_ref& vma, pfn_t start, pfn_t end, vm_flags_t newflags);
  int split_vma(pfn_t at, bool new_below, bool check_count = true);
  // vm_flags_reset, and with set_page_prot also vma_set_page_prot; returns the VMA.
  vma_ref set_flags(pfn_t vm_start, vm_flags_t flags, bool set_page_prot = false);
  void vma_set_page_prot(pfn_t vm_start);
  bool page_prot_write(const vma_ref& vma) const;
  int do_munmap(pfn_t start, pfn_t end);  // do_vmi_munmap after argument checks
  void unmap_region(pfn_t start, pfn_t end);
  void zap_ptes(const vma_ref& vma, pfn_t start, pfn_t end, bool keep_uffd_markers);

  // fault.cpp: the fault paths (mm/memory.c)
  enum class fault_result { ok, sigsegv, sigbus };
  fault_result handle_mm_fault(pfn_t pfn, bool write);
  // The access to [s,e), whose PTEs are all `pte`, of a VMA that permits it. Returns e, or the
  // first page whose fault is VM_FAULT_SIGBUS (a file page beyond i_size): the pages before it
  // were faulted in, it and those after were not.
  pfn_t fault_run(const vma_ref& vma, pfn_t s, pfn_t e, const pte_t& pte, bool write);
  fault_result do_read_fault_file(const vma_ref& vma, pfn_t pfn, bool uffd_wp);
  void do_fault_around(const vma_ref& vma, pfn_t pfn);
  // The first page of a file VMA at or beyond the end of its file (vm_end if none; vm_start if
  // all of it is): shmem_fault refuses those with VM_FAULT_SIGBUS.
  pfn_t file_eof_pfn(const vma_ref& vma) const;
  // mm/gup.c:__mm_populate over [start,end): 0 or -EFAULT (the first VMA whose
  // populate_vma_page_range failed). With ignore_errors (mm_populate: MAP_POPULATE, mremap of
  // a locked VMA) the rest of a failing VMA is skipped and 0 returned; without (mlock) it stops.
  int populate(pfn_t start, pfn_t end, bool ignore_errors = true);
  // mm/gup.c:populate_vma_page_range for [start,end) inside one VMA: 0 or -EFAULT, stopping at
  // the first page whose fault fails.
  int populate_vma_page_range(const vma_ref& vma, pfn_t start, pfn_t end);
  anon_vma_id anon_vma_prepare(pfn_t vm_start);
  bool needs_sd_wp(const vma_ref& vma, pfn_t pfn, const pte_t& pte) const;
  // Calls f(a, b) for the runs of [s,e) (inside `vma`) over which the policy's
  // tracking_enabled is constant: the whole range unless the policy is page-granular.
  template <class F>
  void for_each_tracking_run(const vma_ref& vma, pfn_t s, pfn_t e, F&& f) const {
    if (!pol_.has_page_granular_state()) return f(s, e);
    pfn_t at = s;
    for (const auto& iv : pol_.vma_tracked_pages(mm, vma) & prange(s, e)) {
      if (at < iv.lower()) f(at, iv.lower());
      f(iv.lower(), iv.upper());
      at = iv.upper();
    }
    if (at < e) f(at, e);
  }
  bool can_change_pte_writable(const vma_ref& vma, pfn_t pfn, const pte_t& pte) const;
  std::uint64_t file_mapcount(file_id f, std::uint64_t index) const;

  // mremap.cpp
  Result move_vma(pfn_t old_addr, pfn_t old_len, pfn_t new_len, pfn_t new_addr, bool dontunmap);
  void move_page_tables(pfn_t old_addr, pfn_t new_addr, pfn_t len, bool clear_uffd);
  int vma_to_resize(pfn_t addr, pfn_t old_len, pfn_t new_len, bool dontunmap);

  // madvise.cpp
  int madvise_vma(const vma_ref& vma, pfn_t start, pfn_t end, trace::Advice advice);
  void pageout_range(const vma_ref& vma, pfn_t start, pfn_t end);

  // folio_dirty.cpp: the PTE dirty bit, the folio's PG_dirty, and reclaim of page-cache folios
  enum class dirty_site {
    zap,      // mm/memory.c:zap_present_folio_ptes
    reclaim,  // the reclaim walk: mm/rmap.c:try_to_unmap_one (and MGLRU's walk_pte_range)
  };
  bool transfers_dirty(const vma_ref& vma, dirty_site site) const;
  void zap_transfer_dirty(const vma_ref& vma, pfn_t start, pfn_t end);
  void shrink_file_folio(memfile& f, std::uint64_t index);
  int apply_vma_lock_flags(pfn_t start, pfn_t end, bool lock);

  // uffd.cpp
  void uffd_wp_range(const vma_ref& vma, pfn_t start, pfn_t end);
  void uffd_ctx_create(bool event_remap);
  int uffd_register(pfn_t start, pfn_t end);      // -errno
  void uffd_writeprotect(pfn_t start, pfn_t end, bool consumer_setup = false);
  // The uffd-wp design (policy::emulates_soft_dirty_with_uffd_wp): register a new mapping.
  void consumer_track_new(pfn_t start, pfn_t end, bool protect);
  bool scan_written(const vma_ref& vma, pfn_t pfn) const;
  bool pte_none_written() const;  // PAGE_IS_WRITTEN of a pte_none inside a PTE table
  // Runs of [s,e) inside `vma` with their PAGE_IS_WRITTEN category.
  template <class F> void for_each_written_run(const vma_ref& vma, pfn_t s, pfn_t e, F&& f) const;
};

// mm/mmap.c:do_mmap's translation of PROT_* to VM_* (calc_vm_prot_bits).
inline vm_flags_t calc_vm_prot_bits(std::uint8_t prot) {
  return (prot & trace::PROT_R ? VM_READ : 0) | (prot & trace::PROT_W ? VM_WRITE : 0) |
         (prot & trace::PROT_X ? VM_EXEC : 0);
}

}  // namespace sdmc

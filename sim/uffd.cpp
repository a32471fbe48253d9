// userfaultfd write-protect in async mode (WP_ASYNC | WP_UNPOPULATED): fs/userfaultfd.c and
// mm/userfaultfd.c (semantics 6).
#include "sim/kernel.hpp"

namespace sdmc {

void kernel::uffd_wp_range(const vma_ref& vma, pfn_t start, pfn_t end) {
  // mm/userfaultfd.c:uffd_wp_range -> change_protection(MM_CP_UFFD_WP): present PTEs become
  // uffd-wp (and read-only), swap PTEs get the swap uffd-wp bit, pte_none gets a
  // PTE_MARKER_UFFD_WP (userfaultfd_wp_use_markers: WP_UNPOPULATED); tables are populated.
  const auto runs = mm.collect_ptes(start, end);
  mm.alloc_tables(start, end);
  mm.set_ptes(start, end, make_marker());
  for (auto r : runs) {
    r.p.uffd_wp = true;
    if (r.p.is_present()) r.p.write = false;
    mm.set_ptes(r.s, r.e, r.p);
  }
}

void kernel::uffd_ctx_create(bool event_remap) {
  // userfaultfd() + UFFDIO_API with UFFD_FEATURE_WP_ASYNC (forces WP_UNPOPULATED), once per
  // process: the trace's context (with EVENT_REMAP if its uffd_wp says `remap`), or under the
  // uffd-wp design its consumer's, which always asks for EVENT_REMAP: without it
  // mremap_userfaultfd_prep unregisters the whole VMA holding the destination, a registered
  // neighbour copy_vma merged it into included, and that VMA's stale uffd-wp bits then hide
  // stores (docs/designs.md, kernel/tests/uffd-mremap-merge-drops-registration.sdt).
  if (mm.uffd_ctx) return;
  mm.uffd_ctx = true;
  mm.uffd_event_remap = event_remap || pol_.emulates_soft_dirty_with_uffd_wp();
}

int kernel::uffd_register(pfn_t start, pfn_t end) {
  // UFFDIO_REGISTER, mode WP (the range is validated by the caller).
  uffd_ctx_create(false);
  auto vmas = mm.vmas_in(start, end);
  if (vmas.empty()) return -EINVAL;
  for (const vma_ref& v : vmas) {
    // vma_can_userfault: async WP-only mode allows every VMA type but VM_SPECIAL.
    if (v.v.vm_flags & VM_SPECIAL) return -EINVAL;
    if (!(v.v.vm_flags & VM_MAYWRITE)) return -EPERM;
  }
  // userfaultfd_register_range: vma_modify_flags_uffd per VMA, then userfaultfd_set_vm_flags
  // recomputes the flags from the resulting (target) VMA's own flags -- the target's
  // VM_SOFTDIRTY wins (semantics 2.3) -- and a shared VMA's vm_page_prot when uffd-wp changed.
  for (pfn_t at = start; at < end;) {
    auto vma = mm.find_vma_from(at);
    if (!vma || vma->vm_start >= end) break;
    const pfn_t s = std::max(at, vma->vm_start), e = std::min(end, vma->vm_end);
    if (!(vma->v.vm_flags & VM_UFFD_WP)) {
      modified m = vma_modify(*vma, s, e, vma->v.vm_flags | VM_UFFD_WP);
      if (m.err) return m.err;
      vm_flags_t target = mm.find_vma(m.vma->vm_start)->v.vm_flags;
      vm_flags_t flags = target | VM_UFFD_WP;
      if (m.merged) flags = pol_.merged_flags(merge_path::uffd, flags, m.merged_parts());
      set_flags(m.vma->vm_start, flags);
      if (flags & VM_SHARED) vma_set_page_prot(m.vma->vm_start);
    }
    at = mm.find_vma(s)->vm_end;
  }
  return 0;
}

void kernel::uffd_writeprotect(pfn_t start, pfn_t end, bool consumer_setup) {
  // UFFDIO_WRITEPROTECT: mwriteprotect_range over every VMA of the range.
  for (const vma_ref& v : mm.vmas_in(start, end))
    uffd_wp_range(v, std::max(start, v.vm_start), std::min(end, v.vm_end));
  if (obs) obs->wp_reset(start, end);
  // Under the uffd-wp design a write-protect is its consumer's clear of that range, except when
  // the consumer only arms a new mapping (which must still read as new).
  if (obs && pol_.emulates_soft_dirty_with_uffd_wp() && !consumer_setup) obs->sd_reset(start, end);
}

Result kernel::uffd_wp(std::uint64_t addr, std::uint64_t len, bool event_remap) {
  uffd_ctx_create(event_remap);
  // UFFDIO_REGISTER, mode WP: validate_range
  if (offset_in_page(addr) || offset_in_page(len) || !len) return err(EINVAL);
  if (addr < mmap_min_addr || addr >= TASK_SIZE || len > TASK_SIZE - addr) return err(EINVAL);
  const pfn_t start = addr_to_pfn(addr), end = start + addr_to_pfn(len);
  if (int e = uffd_register(start, end)) return err(-e);
  uffd_writeprotect(start, end);
  return ok(0);
}

void kernel::consumer_track_new(pfn_t start, pfn_t end, bool protect) {
  // The uffd-wp design's consumer registers every new mapping, and write-protects it when it
  // is new memory. A moved range is only registered (a no-op for a registered source, which
  // keeps its registration and uffd-wp bits under EVENT_REMAP): write-protecting it would
  // forget what was written before the move. A VMA the kernel refuses (VM_SPECIAL) stays
  // untracked: its pages read written.
  if (!pol_.emulates_soft_dirty_with_uffd_wp()) return;
  if (uffd_register(start, end)) return;
  if (protect) uffd_writeprotect(start, end, true);
}

}  // namespace sdmc

// The PTE's hardware dirty bit and the folio's PG_dirty: where the kernel moves one to the
// other, and what reclaim then does with a page-cache (shmem) folio. The droppable design
// (model/droppable.hpp) decides which VMAs skip the transfer.
//
// Transfer sites the model's operations reach: zap_present_folio_ptes (munmap, mmap over,
// MADV_DONTNEED, mremap shrink) and try_to_unmap_one (reclaim). A write fault dirties a shared
// folio directly (mm/memory.c:fault_dirty_shared_page, in fault.cpp). Not reached:
// page_vma_mkclean_one (folio_clear_dirty_for_io calls folio_mkclean only for mappings that can
// write back, and shmem cannot: mapping_can_writeback is false for tmpfs), migration
// (try_to_migrate_one: no migration in the model), MGLRU aging (walk_pte_range,
// lru_gen_look_around: the model's reclaim is MADV_PAGEOUT, which isolates folios directly;
// its dirty-skip condition is the same as try_to_unmap_one's and shares dirty_site::reclaim).
#include "sim/kernel.hpp"

namespace sdmc {

droppable_design kernel::droppable_mode() const {
  // The mutant is the dirty-skip design with its typo, whatever design was selected.
  return mm.bug == mutant::droppable_dirty_skip_and ? droppable_design::dirty_skip : mm.droppable;
}

bool kernel::transfers_dirty(const vma_ref& vma, dirty_site site) const {
  // Linux 6.12 (swapbacked): every site does `if (pte_dirty(pte)) folio_mark_dirty(folio)`.
  if (droppable_mode() == droppable_design::swapbacked) return true;
  const vm_flags_t flags = vma.v.vm_flags;
  // mutant droppable_dirty_skip_and: Jason's walk_pmd_range_locked hunk tested
  // `!(vma->vm_flags && VM_DROPPABLE)`: true && true for any VMA with a flag, so the reclaim
  // walk moves no dirty bit to any folio at all.
  if (site == dirty_site::reclaim && mm.bug == mutant::droppable_dirty_skip_and)
    return !(static_cast<bool>(flags) && static_cast<bool>(VM_DROPPABLE));
  // dirty-skip: `if (pte_dirty(pte) && !(vma->vm_flags & VM_DROPPABLE)) folio_mark_dirty(...)`
  return !(flags & VM_DROPPABLE);
}

void kernel::zap_transfer_dirty(const vma_ref& vma, pfn_t start, pfn_t end) {
  // mm/memory.c:zap_present_folio_ptes:1493-1496: a page-cache folio whose PTE was dirty is
  // marked dirty as the PTE goes; anon folios never are (they are freed or stay with others).
  if (!vma.v.file || !transfers_dirty(vma, dirty_site::zap)) return;
  memfile& f = mm.file(vma.v.file);
  mm.for_each_pte(start, end, [&](pfn_t s, pfn_t e, const pte_t& p) {
    if (p.is_present() && p.page == pte_page::file && p.dirty)
      f.dirty += prange(vma.pgoff_at(s), vma.pgoff_at(e));
  });
}

void kernel::shrink_file_folio(memfile& f, std::uint64_t index) {
  // mm/vmscan.c:shrink_folio_list for a shmem (page-cache, swap-backed) folio that
  // try_to_unmap just unmapped.
  if (boost::icl::contains(f.dirty, index)) {
    // pageout -> mm/shmem.c:shmem_writepage: with swap, the page-cache slot becomes a swap
    // entry (shmem_delete_from_page_cache) and the folio leaves for swap; without swap
    // (!total_swap_pages) it is redirtied and kept (AOP_WRITEPAGE_ACTIVATE).
    if (mm.has_swap) {
      f.cached.erase(index);
      f.dirty.erase(index);
      f.swapped.add(index);
    }
    return;
  }
  // A clean folio is freed: __remove_mapping takes it out of the page cache, with or without
  // swap, and the slot is a hole that reads zeros again. Only a folio that was never written
  // (or whose dirty bit never reached it) is clean: shmem has no other copy of its data.
  f.cached.erase(index);
}

}  // namespace sdmc

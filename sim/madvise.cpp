// madvise and reclaim: mm/madvise.c, with reclaim's effect on PTEs from mm/rmap.c and
// mm/vmscan.c (semantics 3.4, 7, 8.3).
#include "sim/kernel.hpp"

namespace sdmc {

using trace::Advice;

namespace {
bool is_flag_advice(Advice a) {
  switch (a) {
    case Advice::Normal: case Advice::Random: case Advice::Sequential: case Advice::Dontfork:
    case Advice::Dofork: case Advice::Wipeonfork: case Advice::Keeponfork: case Advice::Dontdump:
    case Advice::Dodump: case Advice::Hugepage: case Advice::Nohugepage:
      return true;
    default:
      return false;
  }
}
}  // namespace

void kernel::pageout_range(const vma_ref& vma, pfn_t start, pfn_t end) {
  // madvise_cold_or_pageout_pte_range + reclaim_pages: only exclusively mapped LRU folios,
  // never the zero page. try_to_unmap_one clears the PTE, moves its dirty bit to the folio
  // (1809-1810, unless the droppable design skips it: folio_dirty.cpp) and then decides:
  //  - a folio that is not swap-backed (droppable, or lazyfree after MADV_FREE) is discarded
  //    when clean, and under 6.12 when droppable even if dirty (1885-1895): the PTE becomes
  //    none (soft-dirty lost); a redirtied lazyfree folio is kept and swap-backed again;
  //  - private anon: a swap PTE keeping soft-dirty and uffd-wp, only if swap exists;
  //  - file/shmem: the PTE is cleared (soft-dirty lost); a uffd-wp protected PTE of a uffd-wp
  //    VMA becomes a marker so the tracking survives (pte_install_uffd_wp_if_needed; never
  //    for anonymous VMAs); then shrink_folio_list writes a dirty folio to swap (if any) and
  //    frees a clean one (shrink_file_folio).
  struct change { pfn_t s, e; pte_t n; };
  std::vector<change> changes;
  const bool droppable = vma.v.vm_flags & VM_DROPPABLE;
  const bool drops_dirty = droppable && droppable_mode() == droppable_design::swapbacked;
  mm.for_each_pte(start, end, [&](pfn_t s, pfn_t e, const pte_t& p) {
    if (!p.is_present() || p.page == pte_page::zero) return;
    const bool folio_dirty = p.dirty && transfers_dirty(vma, dirty_site::reclaim);
    if (p.page == pte_page::file) {
      memfile& f = mm.file(vma.v.file);
      for (pfn_t q = s; q < e; ++q) {
        std::uint64_t index = vma.pgoff_at(q);
        if (file_mapcount(vma.v.file, index) != 1) continue;
        const bool marker = (vma.v.vm_flags & VM_UFFD_WP) && p.uffd_wp;
        changes.push_back({q, q + 1, marker ? make_marker() : pte_t{}});
        if (obs) obs->zapped_kept(q, q + 1);
        if (folio_dirty) f.dirty.add(index);
        shrink_file_folio(f, index);
      }
      return;
    }
    if (droppable || p.lazyfree) {  // !folio_test_swapbacked
      if (!folio_dirty || drops_dirty) {
        changes.push_back({s, e, pte_t{}});
      } else if (!droppable) {
        pte_t n = p;
        n.lazyfree = false;
        changes.push_back({s, e, n});
      }
      // A dirty droppable folio that may not be dropped stays mapped and never becomes
      // swap-backed (1897-1907); dirty-skip never dirties one, so this is unreachable.
    } else if (mm.has_swap) {
      pte_t n;
      n.kind = pte_kind::swap;
      // mutant swap_loses_soft_dirty: before 179ef71cbc08 try_to_unmap_one had no
      // _PAGE_SWP_SOFT_DIRTY to carry the bit into the swap entry.
      n.soft_dirty = p.soft_dirty && mm.bug != mutant::swap_loses_soft_dirty;
      n.uffd_wp = p.uffd_wp;
      n.anon_exclusive = p.anon_exclusive;
      changes.push_back({s, e, n});
    }
  });
  for (const change& c : changes) mm.set_ptes(c.s, c.e, c.n);
}

int kernel::madvise_vma(const vma_ref& vma, pfn_t start, pfn_t end, Advice advice) {
  // mm/madvise.c:madvise_vma_behavior for [start,end) inside vma
  const vm_flags_t flags = vma.v.vm_flags;
  vm_flags_t new_flags = flags;
  switch (advice) {
    case Advice::Willneed:
      // madvise_willneed: anon (swapin_walk_ops) and shmem (shmem_swapin_range) only read
      // swapped pages into the swap cache (read_swap_cache_async): no PTE changes, and a
      // shmem page-cache slot keeps its swap entry, which fault-around skips
      // (filemap_map_pages -> next_uptodate_folio: xa_is_value). Nothing visible changes.
      return 0;
    case Advice::Cold:
    case Advice::Pageout:
      // can_madv_lru_vma
      if (flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) return -EINVAL;
      if (advice == Advice::Pageout) pageout_range(vma, start, end);
      return 0;
    case Advice::Dontneed:
    case Advice::Free:
      // madvise_dontneed_free_valid_vma
      if (flags & (VM_LOCKED | VM_PFNMAP)) return -EINVAL;
      if (advice == Advice::Dontneed) {
        zap_ptes(vma, start, end, true);
        return 0;
      }
      // madvise_free_single_vma: anonymous VMAs only. Present pages become clean lazyfree
      // (soft-dirty kept, still writable); swap entries are freed at once.
      if (!vma.is_anonymous()) return -EINVAL;
      mm.update_ptes(start, end, [](const pte_t& p) {
        if (p.kind == pte_kind::swap) return pte_t{};
        if (!p.is_present() || p.page != pte_page::anon) return p;
        pte_t n = p;
        n.dirty = false;
        n.lazyfree = true;
        return n;
      });
      return 0;
    case Advice::Remove: {
      // madvise_remove: punch a hole in the shmem file: the pages leave the page cache and
      // every mapping of them (unmap_mapping_range, COWed private copies excepted).
      if (flags & VM_LOCKED) return -EINVAL;
      if (!vma.v.file) return -EINVAL;
      if (!((flags & VM_SHARED) && (flags & VM_MAYWRITE))) return -EACCES;
      std::uint64_t lo = vma.pgoff_at(start), hi = vma.pgoff_at(end);
      memfile& f = mm.file(vma.v.file);
      // shmem_fallocate(PUNCH_HOLE) -> shmem_truncate_range: the data is gone, zeros remain.
      f.cached -= prange(lo, hi);
      f.dirty -= prange(lo, hi);
      f.swapped -= prange(lo, hi);
      f.written -= prange(lo, hi);
      for (const vma_ref& other : mm.all_vmas()) {
        if (other.v.file != vma.v.file) continue;
        std::int64_t s = std::max<std::int64_t>(std::int64_t(lo) - other.v.pgoff_delta, other.vm_start);
        std::int64_t e = std::min<std::int64_t>(std::int64_t(hi) - other.v.pgoff_delta, other.vm_end);
        if (s >= e) continue;
        bool markers = other.v.vm_flags & VM_UFFD_WP;
        mm.update_ptes(pfn_t(s), pfn_t(e), [&](const pte_t& p) {
          if (p.is_present() && p.page == pte_page::anon) return p;
          if (markers && p.uffd_wp) return make_marker();
          return pte_t{};
        });
        // The content is now zero with no store: re-read, a fresh page maps clean.
        if (obs) obs->zapped_kept(pfn_t(s), pfn_t(e));
      }
      return 0;
    }
    case Advice::Normal: new_flags &= ~(VM_RAND_READ | VM_SEQ_READ); break;
    case Advice::Sequential: new_flags = (new_flags & ~VM_RAND_READ) | VM_SEQ_READ; break;
    case Advice::Random: new_flags = (new_flags & ~VM_SEQ_READ) | VM_RAND_READ; break;
    case Advice::Dontfork: new_flags |= VM_DONTCOPY; break;
    case Advice::Dofork:
      if (flags & VM_IO) return -EINVAL;
      new_flags &= ~VM_DONTCOPY;
      break;
    case Advice::Wipeonfork:
      if (vma.v.file || (flags & VM_SHARED)) return -EINVAL;
      new_flags |= VM_WIPEONFORK;
      break;
    case Advice::Keeponfork:
      if (flags & VM_DROPPABLE) return -EINVAL;
      new_flags &= ~VM_WIPEONFORK;
      break;
    case Advice::Dontdump: new_flags |= VM_DONTDUMP; break;
    case Advice::Dodump:
      if ((flags & VM_SPECIAL) || (flags & VM_DROPPABLE)) return -EINVAL;
      new_flags &= ~VM_DONTDUMP;
      break;
    case Advice::Hugepage: new_flags = (new_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE; break;
    case Advice::Nohugepage: new_flags = (new_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE; break;
  }
  // madvise_update_vma: no change, no merge. Otherwise vma_modify_flags_name, then
  // vm_flags_reset(new_flags) WITHOUT vma_set_page_prot: a merged target keeps its old
  // vm_page_prot (semantics 2.4, sequence C).
  if (new_flags == flags) return 0;
  modified m = vma_modify(vma, start, end, new_flags);
  if (m.err) return m.err == -ENOMEM ? -EAGAIN : m.err;
  set_flags(m.vma->vm_start,
            m.merged ? pol_.merged_flags(merge_path::madvise, new_flags, m.merged_parts()) : new_flags);
  return 0;
}

Result kernel::sys_madvise(std::uint64_t addr, std::uint64_t len_in, Advice advice) {
  // mm/madvise.c:do_madvise
  if (offset_in_page(addr)) return err(EINVAL);
  std::uint64_t len = page_align(len_in);
  if (len_in && !len) return err(EINVAL);
  std::uint64_t endb = addr + len;
  if (endb < addr) return err(EINVAL);
  if (endb == addr) return ok(0);
  pfn_t start = addr_to_pfn(addr);
  const pfn_t end = addr_to_pfn(endb);
  // madvise_walk_vmas: holes are skipped and reported as -ENOMEM at the end; an error of one
  // VMA stops the walk.
  int unmapped_error = 0;
  while (start < end) {
    auto vma = mm.find_vma_from(start);
    if (!vma || vma->vm_start >= end) { unmapped_error = -ENOMEM; break; }
    if (start < vma->vm_start) { unmapped_error = -ENOMEM; start = vma->vm_start; }
    pfn_t tmp = std::min(vma->vm_end, end);
    if (int e = madvise_vma(*vma, start, tmp, advice)) return err(-e);
    // Flag changes may have merged past tmp; continue after the VMA that holds `start` now
    // only when it ends inside the range (prev->vm_end in madvise_walk_vmas).
    auto now = mm.find_vma(start);
    start = (now && now->vm_end > tmp && is_flag_advice(advice)) ? now->vm_end : tmp;
  }
  return unmapped_error ? err(-unmapped_error) : ok(0);
}

Result kernel::reclaim(std::optional<std::uint64_t> addr, std::optional<std::uint64_t> len) {
  if (addr && len) return sys_madvise(*addr, *len, Advice::Pageout);
  // Without a range: MADV_PAGEOUT over every mapping, each on its own.
  for (const vma_ref& vma : mm.all_vmas())
    if (!(vma.v.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)))
      pageout_range(*mm.find_vma(vma.vm_start), vma.vm_start, vma.vm_end);
  return ok(0);
}

}  // namespace sdmc

// mremap: mm/mremap.c. It never sets VM_SOFTDIRTY (grep finds no reference in the file), but
// move_ptes marks every moved PTE soft-dirty, except whole page tables moved by
// move_normal_pmd (semantics rule 4).
#include "sim/kernel.hpp"

namespace sdmc {

namespace {
constexpr pfn_t SPAN = PTRS_PER_PTE;  // pages per PTE table
}

int kernel::vma_to_resize(pfn_t addr, pfn_t old_len, pfn_t new_len, bool dontunmap) {
  // mm/mremap.c:vma_to_resize
  auto vma = mm.find_vma(addr);
  if (!vma) return -EFAULT;
  if (!old_len && !(vma->v.vm_flags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
  if (dontunmap && (vma->v.vm_flags & (VM_DONTEXPAND | VM_PFNMAP))) return -EINVAL;
  if (old_len > vma->vm_end - addr) return -EFAULT;
  if (new_len == old_len) return 0;
  if (vma->v.vm_flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  return 0;
}

void kernel::move_page_tables(pfn_t old_addr, pfn_t new_addr, pfn_t len, bool clear_uffd) {
  // mm/mremap.c:move_page_tables
  if (!len) return;
  const pfn_t old_end = old_addr + len;
  const bool uffd_supports_move = !clear_uffd;
  // try_realign_addr: a move that reaches a PMD boundary, with source and destination at the
  // same offset in their PMDs, each at its VMA's start with nothing mapped below it in the
  // PMD, is aligned down so that the first extent is a whole table.
  if (len >= SPAN - (old_addr & (SPAN - 1)) && (old_addr & (SPAN - 1)) != 0 &&
      (old_addr & (SPAN - 1)) == (new_addr & (SPAN - 1))) {
    auto can_align_down = [&](pfn_t addr) {
      auto v = mm.find_vma(addr);
      return v && v->vm_start == addr && !mm.intersects(addr & ~(SPAN - 1), addr);
    };
    if (can_align_down(old_addr) && can_align_down(new_addr)) {
      old_addr &= ~(SPAN - 1);
      new_addr &= ~(SPAN - 1);
    }
  }
  for (pfn_t extent; old_addr < old_end; old_addr += extent, new_addr += extent) {
    // get_extent(NORMAL_PMD): up to the next PMD boundary of either address. (PUD-sized
    // moves keep PTEs verbatim as well; they are whole-table moves of every span inside.)
    extent = std::min({SPAN - (old_addr & (SPAN - 1)), old_end - old_addr,
                       SPAN - (new_addr & (SPAN - 1))});
    if (!mm.has_table(old_addr)) continue;  // get_old_pmd: nothing mapped here
    if (extent == SPAN && uffd_supports_move && !mm.has_table(new_addr)) {
      // move_normal_pmd: the PTE table is relinked, PTEs (soft-dirty included) kept as is.
      mm.move_ptes(old_addr, new_addr, SPAN);
      mm.move_table(old_addr / SPAN, new_addr / SPAN);
      continue;
    }
    mm.alloc_tables(new_addr, new_addr + 1);
    // move_ptes: every moved present or swap PTE (markers included) becomes soft-dirty
    // (move_soft_dirty_pte); without UFFD_FEATURE_EVENT_REMAP uffd-wp bits and markers go.
    mm.move_ptes(old_addr, new_addr, extent);
    mm.update_ptes(new_addr, new_addr + extent, [&](const pte_t& p) {
      if (clear_uffd && p.kind == pte_kind::marker) return pte_t{};
      pte_t n = p;
      // mutant mremap_move_not_soft_dirty: move_ptes without move_soft_dirty_pte.
      n.soft_dirty = p.soft_dirty || mm.bug != mutant::mremap_move_not_soft_dirty;
      if (clear_uffd) n.uffd_wp = false;
      return n;
    });
  }
}

Result kernel::move_vma(pfn_t old_addr, pfn_t old_len, pfn_t new_len, pfn_t new_addr,
                        bool dontunmap) {
  // mm/mremap.c:move_vma
  if (mm.map_count() >= sysctl_max_map_count - 3) return err(ENOMEM);
  vma_ref vma = *mm.find_vma(old_addr);
  if (dontunmap && (vma.v.vm_flags & VM_LOCKED)) {
    if (int e = split_vma(old_addr, true)) return err(-e);
    if (int e = split_vma(old_addr + old_len, false)) return err(-e);
    vma = *mm.find_vma(old_addr);
  }
  // vma_has_uffd_without_event_remap: a registered source in a context without EVENT_REMAP.
  const bool clear_uffd = (vma.v.vm_flags & VM_UFFD_WP) && !mm.uffd_event_remap;

  // copy_vma: an unfaulted anon source is re-based to the destination, so it merges easily.
  std::uint64_t pgoff = vma.pgoff_at(old_addr);
  bool faulted_in_anon_vma = true;
  if (vma.is_anonymous() && !vma.v.anon_vma) {
    pgoff = new_addr;
    faulted_in_anon_vma = false;
  }
  proposal p{new_addr, new_addr + new_len, vma.v};
  p.v.pgoff_delta = std::int64_t(pgoff) - std::int64_t(new_addr);
  std::optional<vma_ref> new_vma;
  // With MREMAP_DONTUNMAP an unfaulted source must not merge with its own copy.
  bool skip_merge = !faulted_in_anon_vma && dontunmap &&
                    ((vma.vm_end == new_addr) || (vma.vm_start == new_addr + new_len));
  if (!skip_merge) new_vma = vma_merge_new_range(p, merge_path::mremap_move, false);
  if (!new_vma) {
    vma_value v = vma.v;  // vm_area_dup: the source's flags and vm_page_prot
    v.pgoff_delta = p.v.pgoff_delta;
    v.vma_id = mm.new_vma_id();
    mm.set_vma(new_addr, new_addr + new_len, v);
    new_vma = vma_ref{new_addr, new_addr + new_len, v};
  }
  const bool tracked_before = pol_.vma_wants_sd_writenotify(mm, *new_vma);
  pol_.on_move(mm, vma, old_addr, old_addr + old_len, *new_vma,
               std::int64_t(new_addr) - std::int64_t(old_addr));
  // When copy_vma merged the destination into a neighbour that tracked nothing, the moved clean
  // ranges are that VMA's first and arrive after the merge, which did not see them
  // (kernel/patches/granular/0003; kernel/tests/granular/mremap-merge-stale-prot.sdt).
  prot_follows_handover(*new_vma, tracked_before);
  move_page_tables(old_addr, new_addr, old_len, clear_uffd);
  if (obs) {
    obs->moved(old_addr, old_len, new_addr, new_len);
    mm.for_each_pte(new_addr, new_addr + old_len, [&](pfn_t s, pfn_t e, const pte_t& p) {
      if (p.is_present() || p.kind == pte_kind::swap) obs->moved_with_pte(s, e);
    });
  }

  // mremap_userfaultfd_prep: without UFFD_FEATURE_EVENT_REMAP the new VMA is unregistered
  // (userfaultfd_reset_ctx -> userfaultfd_set_vm_flags, which recomputes a shared prot) --
  // the whole VMA, so also the part of a registered neighbour copy_vma merged the
  // destination into. With it the context stays and the consumer gets UFFD_EVENT_REMAP.
  if (auto nv = mm.find_vma(new_addr); nv && (nv->v.vm_flags & VM_UFFD_WP) && !mm.uffd_event_remap) {
    set_flags(nv->vm_start, nv->v.vm_flags & ~VM_UFFD_WP);
    if (nv->v.vm_flags & VM_SHARED) vma_set_page_prot(nv->vm_start);
  }

  consumer_track_new(new_addr, new_addr + new_len, false);

  if (dontunmap) {
    // The source stays mapped, with no PTEs and no VM_LOCKED; a whole source VMA loses its
    // anon_vma and an anonymous one is re-based (pgoff_unfaulted).
    vma_ref src = *mm.find_vma(old_addr);
    src.v.vm_flags &= ~VM_LOCKED_MASK;
    if (src.vm_start == old_addr && src.vm_end == old_addr + old_len) {
      src.v.anon_vma = 0;
      if (src.is_anonymous()) src.v.pgoff_delta = 0;
    }
    mm.update_vma(src.vm_start, src.v);
    return ok(pfn_to_addr(new_addr));
  }
  do_munmap(old_addr, old_addr + old_len);
  if (vma.v.vm_flags & VM_LOCKED && new_len > old_len)
    populate(new_addr + old_len, new_addr + new_len);  // mm_populate of the grown part
  return ok(pfn_to_addr(new_addr));
}

Result kernel::sys_mremap(const trace::Mremap& op, std::optional<std::uint64_t> moved_to,
                          bool* needs_address) {
  // mm/mremap.c:SYSCALL_DEFINE5(mremap)
  const bool fixed = op.fixed.has_value();
  if (fixed && !op.maymove) return err(EINVAL);
  if (op.dontunmap && (!op.maymove || op.old_len != op.new_len)) return err(EINVAL);
  if (offset_in_page(op.old_addr)) return err(EINVAL);
  std::uint64_t old_len = page_align(op.old_len), new_len = page_align(op.new_len);
  if (!new_len) return err(EINVAL);
  const pfn_t addr = addr_to_pfn(op.old_addr);
  if (!mm.find_vma(addr)) return err(EFAULT);
  pfn_t olen = addr_to_pfn(old_len), nlen = addr_to_pfn(new_len);

  if (fixed || op.dontunmap) {
    // mremap_to
    std::uint64_t new_addr_b = fixed ? *op.fixed : moved_to.value_or(0);
    if (!fixed && !moved_to) {
      if (needs_address) *needs_address = true;
      return err(EINVAL);
    }
    if (offset_in_page(new_addr_b)) return err(EINVAL);
    if (new_len > TASK_SIZE || new_addr_b > TASK_SIZE - new_len) return err(EINVAL);
    const pfn_t new_addr = addr_to_pfn(new_addr_b);
    if (addr + olen > new_addr && new_addr + nlen > addr) return err(EINVAL);
    if (mm.map_count() + 2 >= sysctl_max_map_count - 3) return err(ENOMEM);
    if (fixed)
      if (int e = do_munmap(new_addr, new_addr + nlen)) return err(-e);
    if (olen > nlen) {
      if (int e = do_munmap(addr + nlen, addr + olen)) return err(-e);
      olen = nlen;
    }
    if (int e = vma_to_resize(addr, olen, nlen, op.dontunmap)) return err(-e);
    if (!fixed && mm.intersects(new_addr, new_addr + nlen)) return err(ENOMEM);
    return move_vma(addr, olen, nlen, new_addr, op.dontunmap);
  }

  if (olen >= nlen) {
    if (olen == nlen) return ok(op.old_addr);
    if (int e = do_munmap(addr + nlen, addr + olen)) return err(-e);
    return ok(op.old_addr);
  }
  if (int e = vma_to_resize(addr, olen, nlen, false)) return err(-e);
  vma_ref vma = *mm.find_vma(addr);
  if (olen == vma.vm_end - addr) {
    // vma_expandable: the tail [vm_end, vm_end + delta) is free and inside TASK_SIZE.
    pfn_t delta = nlen - olen;
    if (!mm.intersects(vma.vm_end, vma.vm_end + delta) &&
        pfn_to_addr(vma.vm_end + delta) <= TASK_SIZE) {
      // vma_merge_extend: vma_merge_new_range with prev = the VMA itself; it may absorb next.
      // The grown VMA keeps its own flags: the tail is not soft-dirty unless the VMA is.
      proposal p{vma.vm_end, vma.vm_end + delta, vma.v};
      vma_merge_new_range(p, merge_path::mremap_expand, false);
      if (obs) obs->grown_in_place(vma.vm_end, vma.vm_end + delta);
      consumer_track_new(vma.vm_end, vma.vm_end + delta, true);
      if (vma.v.vm_flags & VM_LOCKED) populate(vma.vm_end, vma.vm_end + delta);
      return ok(op.old_addr);
    }
  }
  if (!op.maymove) return err(ENOMEM);
  if (!moved_to) {
    if (needs_address) *needs_address = true;
    return err(EINVAL);
  }
  if (offset_in_page(*moved_to)) return err(EINVAL);
  const pfn_t new_addr = addr_to_pfn(*moved_to);
  // get_unmapped_area only returns free space: a destination that is not free cannot be what
  // the kernel chose.
  if (pfn_to_addr(new_addr + nlen) > TASK_SIZE || mm.intersects(new_addr, new_addr + nlen))
    return err(ENOMEM);
  return move_vma(addr, olen, nlen, new_addr, false);
}

}  // namespace sdmc

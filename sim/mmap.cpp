// mmap and brk: mm/mmap.c:do_mmap, __mmap_region, do_brk_flags and SYSCALL brk.
#include "sim/kernel.hpp"

namespace sdmc {

namespace {
constexpr vm_flags_t VM_MAY_ALL = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

// mm/mmap.c:accountable_mapping
bool accountable_mapping(vm_flags_t f) {
  return (f & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE;
}
}  // namespace

Result kernel::sys_mmap(const trace::Mmap& op) {
  const std::uint64_t offset = op.file ? op.file->offset : 0;
  // arch/x86/kernel/sys_x86_64.c:SYSCALL_DEFINE6(mmap): the offset must be page aligned.
  if (offset_in_page(offset)) return err(EINVAL);
  // mm/mmap.c:do_mmap
  if (op.len == 0) return err(EINVAL);
  std::uint64_t len = page_align(op.len);
  if (len == 0) return err(ENOMEM);
  std::uint64_t pgoff = offset >> PAGE_SHIFT;
  if (pgoff + (len >> PAGE_SHIFT) < pgoff) return err(EOVERFLOW);
  if (mm.map_count() > sysctl_max_map_count) return err(ENOMEM);

  vm_flags_t vm_flags = calc_vm_prot_bits(op.prot) | VM_MAY_ALL;
  if (op.stack) vm_flags |= VM_NOHUGEPAGE;  // include/linux/mman.h:calc_vm_flag_bits (THP=y)

  // __get_unmapped_area: the trace always names the address (MAP_FIXED or
  // MAP_FIXED_NOREPLACE, which do_mmap turns into MAP_FIXED here).
  if (len > TASK_SIZE) return err(ENOMEM);
  if (op.addr > TASK_SIZE - len) return err(ENOMEM);
  if (offset_in_page(op.addr)) return err(EINVAL);
  const pfn_t start = addr_to_pfn(op.addr), end = start + addr_to_pfn(len);
  if (!op.fixed && mm.intersects(start, end)) return err(EEXIST);

  vma_value v;
  if (op.file) {
    // The type switch for file mappings; a memfd is readable, exec-capable shmem.
    if (op.sharing == trace::Sharing::Droppable) return err(EINVAL);
    if (op.sharing == trace::Sharing::Shared) {
      if ((op.prot & trace::PROT_W) && op.file->ro) return err(EACCES);
      vm_flags |= VM_SHARED | VM_MAYSHARE;
      if (op.file->ro) vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
    }
  } else if (op.sharing == trace::Sharing::Shared) {
    pgoff = 0;
    vm_flags |= VM_SHARED | VM_MAYSHARE;
  } else {
    if (op.sharing == trace::Sharing::Droppable)
      vm_flags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
    pgoff = start;  // "Set pgoff according to addr for anon_vma"
  }
  if (op.noreserve) vm_flags |= VM_NORESERVE;  // overcommit heuristic allows it

  // __mmap_region: remove what is there (vms_gather_munmap_vmas may fail at the map limit).
  auto first = mm.find_vma_from(start);
  const bool replaces = first && first->vm_start < end;
  if (replaces && first->vm_start < start && end < first->vm_end &&
      mm.map_count() >= sysctl_max_map_count)
    return err(ENOMEM);
  if (accountable_mapping(vm_flags)) vm_flags |= VM_ACCOUNT;

  if (op.file) {
    // The memfd: created empty on first use, grown to at least OFFSET+LEN (ftruncate).
    auto id = mm.find_file(op.file->name);
    if (!id) {
      memfile nf;
      nf.name = op.file->name;
      id = mm.add_file(std::move(nf));
    }
    memfile& f = mm.file(*id);
    f.size_pages = std::max<std::uint64_t>(f.size_pages, pgoff + (len >> PAGE_SHIFT));
    v.file = *id;
    v.file_ro = op.file->ro;
  }
  v.vm_flags = pol_.proposed_new_flags(mm, vm_flags);
  v.pgoff_delta = std::int64_t(pgoff) - std::int64_t(start);

  if (replaces) {
    split_vma(start, true, false);
    split_vma(end, false, false);
    unmap_region(start, end);  // vms_clean_up_area: PTEs and page tables go first
  }

  // vma_merge_new_range is tried before the shmem file of a shared-anon mapping exists
  // (shmem_zero_setup), so such a mapping never merges: no neighbour has a NULL vm_file and
  // VM_SHARED at once.
  std::optional<vma_ref> vma =
      vma_merge_new_range(proposal{start, end, v}, merge_path::mmap, false, false);
  const bool merged = vma.has_value();
  if (!merged) {
    if (!op.file && op.sharing == trace::Sharing::Shared) {
      memfile f;
      f.shared_anon = true;
      f.size_pages = len >> PAGE_SHIFT;
      v.file = mm.add_file(std::move(f));  // shmem_zero_setup
    }
    v.vma_id = mm.new_vma_id();
    vma = vma_ref{start, end, v};
  }
  // __mmap_region:1565-1574: the resulting VMA, merged neighbours included, is soft-dirty;
  // then vma_set_page_prot.
  pol_.mark_new(vma->v, vma->vm_start, vma->vm_end, start, end);
  vma->v.page_prot_write = page_prot_write(*vma);
  if (merged) mm.set_vma(vma->vm_start, vma->vm_end, vma->v);
  else mm.insert_vma(vma->vm_start, vma->vm_end, vma->v);
  if (obs) obs->mapped_new(start, end);
  consumer_track_new(start, end, true);

  // do_mmap: MAP_POPULATE (without MAP_NONBLOCK) populates the new range.
  if (op.populate) populate(start, end);
  return ok(op.addr);
}

Result kernel::sys_brk(std::uint64_t old_brk, std::uint64_t new_brk) {
  // The first brk of a trace places the heap (prctl(PR_SET_MM) in a real replayer).
  if (!mm.start_brk) mm.start_brk = mm.brk = old_brk;
  const std::uint64_t origbrk = *mm.brk;
  // mm/mmap.c:SYSCALL_DEFINE1(brk)
  if (new_brk < *mm.start_brk) return ok(origbrk);
  pfn_t newbrk = addr_to_pfn(page_align(new_brk)), oldbrk = addr_to_pfn(page_align(*mm.brk));
  if (oldbrk == newbrk) {
    mm.brk = new_brk;
    return ok(new_brk);
  }
  if (new_brk <= *mm.brk) {
    // Always allow shrinking brk: unmap [newbrk, oldbrk) of the brk VMA.
    auto brkvma = mm.find_vma_from(newbrk);
    if (!brkvma || brkvma->vm_start >= oldbrk) return ok(origbrk);
    if (do_munmap(newbrk, oldbrk)) return ok(origbrk);
    mm.brk = new_brk;
    return ok(new_brk);
  }
  // Check against existing mappings: one guard page must stay free above the new break.
  auto next = mm.find_vma_from(oldbrk);
  if (next && newbrk + 1 > next->vm_start) return ok(origbrk);
  if (mm.map_count() > sysctl_max_map_count) return ok(origbrk);

  // do_brk_flags: expand the brk VMA (VMG_FLAG_JUST_EXPAND) or create a new one.
  vma_value v;
  v.vm_flags = pol_.proposed_new_flags(
      mm, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT);
  v.pgoff_delta = 0;  // pgoff = addr >> PAGE_SHIFT
  auto prev = mm.vma_prev(oldbrk);
  std::optional<vma_ref> vma;
  // brkvma = vma_prev_limit(&vmi, mm->start_brk): the VMA below oldbrk, if it reaches above start_brk.
  if (prev && prev->vm_end == oldbrk && pfn_to_addr(prev->vm_end) > *mm.start_brk)
    vma = vma_merge_new_range(proposal{oldbrk, newbrk, v}, merge_path::brk, true);
  if (!vma) {
    v.vma_id = mm.new_vma_id();
    mm.set_vma(oldbrk, newbrk, v);
    vma = vma_ref{oldbrk, newbrk, v};
  }
  // do_brk_flags:1858: the whole brk VMA, old part included, becomes soft-dirty.
  pol_.mark_new(vma->v, vma->vm_start, vma->vm_end, oldbrk, newbrk);
  mm.update_vma(vma->vm_start, vma->v);
  if (obs) obs->mapped_new(oldbrk, newbrk);
  consumer_track_new(oldbrk, newbrk, true);
  mm.brk = new_brk;
  return ok(new_brk);
}

}  // namespace sdmc

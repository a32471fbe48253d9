#include "sim/invariants.hpp"

#include <fmt/format.h>

#include "sim/state_check.hpp"

#include <unordered_map>

namespace sdmc {

namespace {

constexpr pfn_t ALL = pfn_t(1) << (47 - PAGE_SHIFT);

std::string range_text(pfn_t s, pfn_t e) {
  return fmt::format("[{:#x}, {:#x})", pfn_to_addr(s), pfn_to_addr(e));
}

std::optional<std::string> check_vmas(const kernel& k) {
  pfn_t prev_end = 0;
  bool first = true;
  std::unordered_map<std::uint32_t, prange> ids;
  std::optional<std::string> bad;
  k.mm.for_each_vma([&](const vma_ref& v) {
    if (bad) return;
    const pfn_t s = v.vm_start, e = v.vm_end;
    if (s >= e) bad = "vma: empty VMA at " + range_text(s, e);
    else if (!first && s < prev_end)
      bad = "vma: VMA " + range_text(s, e) + " overlaps or precedes the one ending at " +
            fmt::format("{:#x}", pfn_to_addr(prev_end));
    else if (v.v.vma_id == 0) bad = "vma: VMA " + range_text(s, e) + " has no vma_id";
    else if (auto [it, fresh] = ids.emplace(v.v.vma_id, prange(s, e)); !fresh)
      bad = fmt::format("vma: VMAs {} and {} share vma_id {}",
                        range_text(it->second.lower(), it->second.upper()), range_text(s, e),
                        v.v.vma_id);
    prev_end = e;
    first = false;
  });
  return bad;
}

std::optional<std::string> check_ptes(const kernel& k) {
  std::optional<std::string> bad;
  k.mm.for_each_pte(0, ALL, [&](pfn_t s, pfn_t e, const pte_t&) {
    if (bad) return;
    // unmap_region zaps the PTEs of every VMA it removes (mm/vma.c:unmap_region).
    pfn_t at = s;
    k.mm.for_each_vma(s, e, [&](const vma_ref& v) {
      if (!bad && v.vm_start > at) bad = "pte: PTEs outside every VMA at " + range_text(at, v.vm_start);
      at = std::max(at, v.vm_end);
    });
    if (!bad && at < e) bad = "pte: PTEs outside every VMA at " + range_text(at, e);
    if (bad) return;
    k.mm.for_each_table_run(s, e, [&](pfn_t a, pfn_t b, bool table) {
      if (!bad && !table) bad = "pte: PTEs without a page table at " + range_text(a, b);
    });
  });
  return bad;
}

std::optional<std::string> check_non_sd_regs(const kernel& k) {
  const auto& lists = k.mm.non_sd_regs;
  if (lists.empty()) return std::nullopt;
  std::unordered_map<std::uint32_t, prange> vmas;
  k.mm.for_each_vma([&](const vma_ref& v) { vmas.emplace(v.v.vma_id, prange(v.vm_start, v.vm_end)); });
  for (const auto& [id, nodes] : lists) {
    auto it = vmas.find(id);
    if (it == vmas.end())
      return fmt::format("non_sd_reg: a list of {} node(s) for vma_id {}, which no VMA has",
                         nodes.size(), id);
    const prange vma = it->second;
    pfn_t prev_end = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const non_sd_reg& n = nodes[i];
      const std::string where = fmt::format("node {} {} of the VMA {} (vma_id {})", i,
                                            range_text(n.start, n.end),
                                            range_text(vma.lower(), vma.upper()), id);
      if (n.start >= n.end) return "non_sd_reg: empty " + where;
      if (i > 0 && n.start < prev_end) return "non_sd_reg: unsorted or overlapping " + where;
      if (n.start < vma.lower() || n.end > vma.upper()) return "non_sd_reg: outside its VMA: " + where;
      prev_end = n.end;
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_gaps_read_clean(const kernel& k) {
  // Each unmapped gap below a VMA, and the one above the last VMA, must read bit 55 = 0.
  pfn_t gap_start = 0;
  std::optional<std::string> bad;
  auto check = [&](pfn_t s, pfn_t e) {
    if (bad || s >= e) return;
    pset sd = k.soft_dirty_pages(s, e);
    if (!sd.empty())
      bad = "pagemap: unmapped " + range_text(sd.begin()->lower(), sd.begin()->upper()) +
            " reads soft-dirty (fs/proc/task_mmu.c:pagemap_pte_hole reports gaps clean)";
  };
  k.mm.for_each_vma([&](const vma_ref& v) {
    check(gap_start, v.vm_start);
    gap_start = v.vm_end;
  });
  check(gap_start, addr_to_pfn(TASK_SIZE));
  return bad;
}

std::optional<std::string> check_writes_tracked(const kernel& k) {
  const policy& pol = k.pol();
  if (!pol.keeps_writes_tracked()) return std::nullopt;
  std::optional<std::string> bad;
  // mm/internal.h:pte_needs_soft_dirty_wp: a PTE of a page reported clean must fault on the
  // next store, or the store leaves no trace.
  k.mm.for_each_pte(0, ALL, [&](pfn_t s, pfn_t e, const pte_t& p) {
    if (bad || !p.is_present() || !p.write || p.soft_dirty) return;
    const pset clean = pset(prange(s, e)) - k.soft_dirty_pages(s, e);
    if (!clean.empty())
      bad = "write tracking: " + range_text(clean.begin()->lower(), clean.begin()->upper()) +
            " reads clean but has a writable, not soft-dirty PTE (a store would leave no trace)";
  });
  if (bad) return bad;
  // mm/vma.c:vma_wants_writenotify: a shared-writable VMA whose soft-dirty state needs write
  // faults must have a read-only vm_page_prot, or read faults install writable PTEs.
  for (const vma_ref& v : k.mm.all_vmas()) {
    const vm_flags_t f = v.v.vm_flags;
    if ((f & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE) && v.v.page_prot_write &&
        pol.vma_wants_sd_writenotify(k.mm, v))
      return "write tracking: the shared VMA " + range_text(v.vm_start, v.vm_end) +
             " is tracked but its vm_page_prot is writable (no write-notify)";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_invariants(const kernel& k) {
  if (auto v = check_vmas(k)) return v;
  if (auto v = check_ptes(k)) return v;
  if (auto v = check_non_sd_regs(k)) return v;
  if (auto v = check_gaps_read_clean(k)) return v;
  if (auto v = check_writes_tracked(k)) return v;
  return shmem_data_lost(k);
}

}  // namespace sdmc

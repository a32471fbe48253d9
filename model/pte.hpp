// The state of one page-table entry, reduced to what pagemap, PAGEMAP_SCAN and the fault paths
// need (semantics section 0). Values are small and equal for neighbouring pages in the common
// case, so page tables are run-length encoded in an interval map (model/mm.hpp).
#pragma once

#include <cstdint>

namespace sdmc {

enum class pte_kind : std::uint8_t {
  none,     // pte_none: nothing mapped
  present,  // pte_present (includes PROT_NONE/protnone PTEs on x86)
  swap,     // a swap entry (private anon swapped out)
  marker,   // PTE_MARKER_UFFD_WP
};

// What a present PTE maps.
enum class pte_page : std::uint8_t {
  zero,  // the shared zero page: vm_normal_page() is NULL
  anon,  // an anonymous folio (private anon, or a COWed private-file page)
  file,  // a page-cache page of the VMA's file (shmem); its index is the VMA's pgoff at that page
};

struct pte_t {
  pte_kind kind = pte_kind::none;
  pte_page page = pte_page::zero;
  bool write = false;       // _PAGE_RW (present only)
  bool dirty = false;       // hardware _PAGE_DIRTY (present only)
  bool soft_dirty = false;  // _PAGE_SOFT_DIRTY or _PAGE_SWP_SOFT_DIRTY
  bool uffd_wp = false;     // _PAGE_UFFD_WP or _PAGE_SWP_UFFD_WP (a marker always is)
  bool anon_exclusive = false; // PageAnonExclusive (anon pages and swap entries)
  bool lazyfree = false;    // the folio was MADV_FREEd and is not swap-backed any more

  bool operator==(const pte_t&) const = default;
  bool operator<(const pte_t& o) const { return key() < o.key(); }
  // Interval containers need an aggregation; PTEs are only ever replaced, never combined.
  pte_t& operator+=(const pte_t& o) { return *this = o; }

  bool is_none() const { return kind == pte_kind::none; }
  bool is_present() const { return kind == pte_kind::present; }
  bool is_swap_pte() const { return kind == pte_kind::swap || kind == pte_kind::marker; }

 private:
  std::uint32_t key() const {
    return std::uint32_t(kind) | std::uint32_t(page) << 4 | std::uint32_t(write) << 8 |
           std::uint32_t(dirty) << 9 | std::uint32_t(soft_dirty) << 10 |
           std::uint32_t(uffd_wp) << 11 | std::uint32_t(anon_exclusive) << 12 |
           std::uint32_t(lazyfree) << 13;
  }
};

inline pte_t make_marker() {
  pte_t p;
  p.kind = pte_kind::marker;
  p.uffd_wp = true;
  return p;
}

}  // namespace sdmc

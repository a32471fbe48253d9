// Basic units of the model: virtual page numbers and half-open page ranges.
#pragma once

#include <boost/icl/interval.hpp>
#include <boost/icl/interval_set.hpp>
#include <cstdint>

#include "model/pool_allocator.hpp"

namespace sdmc {

using pfn_t = std::uint64_t;  // virtual page number: address >> PAGE_SHIFT

inline constexpr unsigned PAGE_SHIFT = 12;
inline constexpr std::uint64_t PAGE_SIZE = 1ull << PAGE_SHIFT;
inline constexpr unsigned PMD_SHIFT = 21;                     // x86-64: one PTE table maps 2 MiB
inline constexpr pfn_t PTRS_PER_PTE = 1ull << (PMD_SHIFT - PAGE_SHIFT);
// arch/x86/include/asm/page_64_types.h: TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE (4-level paging)
inline constexpr std::uint64_t TASK_SIZE = (1ull << 47) - PAGE_SIZE;

inline constexpr pfn_t addr_to_pfn(std::uint64_t addr) { return addr >> PAGE_SHIFT; }
inline constexpr std::uint64_t pfn_to_addr(pfn_t pfn) { return pfn << PAGE_SHIFT; }
inline constexpr std::uint64_t page_align(std::uint64_t len) {
  return (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}
inline constexpr bool offset_in_page(std::uint64_t addr) { return addr & (PAGE_SIZE - 1); }

// A half-open range of pages [start, end).
using prange = boost::icl::right_open_interval<pfn_t>;
using pset = boost::icl::interval_set<pfn_t, std::less, prange, pool_allocator>;

inline prange pr(pfn_t start, pfn_t end) { return prange(start, end); }

}  // namespace sdmc

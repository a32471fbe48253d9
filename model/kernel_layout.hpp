// Byte sizes of the kernel structures that soft-dirty metadata costs, as Debian's amd64 Linux
// 6.12 lays them out: the figures behind the metadata-bytes metric.
//
// Measured by kernel/vma-size.sh on Debian 6.12.117 (linux-source-6.12 6.12.117-1~deb12u1) with
// Debian's own amd64 config (linux-config-6.12: config.amd64_none_amd64.xz, make olddefconfig),
// gcc 12.2, pahole v1.24 over the DWARF of mm/debug.o and of a probe compiled with mm/debug.o's
// command line; 2026-11-22. The ctest `kernel_layout` (label kernel) re-measures and fails if
// these differ. Layout and slab notes: docs/kernel-layout.md.
#pragma once

#include <cstddef>

namespace sdmc::kernel_layout {

// include/linux/mm_types.h: struct vm_area_struct (3 cachelines; CONFIG_PER_VMA_LOCK,
// CONFIG_NUMA_BALANCING, CONFIG_SWAP, CONFIG_NUMA on; no CONFIG_ANON_VMA_NAME).
inline constexpr std::size_t vm_area_struct = 176;
// include/linux/types.h: struct list_head, what the granular RFC adds to every VMA.
inline constexpr std::size_t list_head = 16;
// struct non_sd_reg of the Dec 2022 RFC ("[PATCH RFC] mm: implement granular soft-dirty vma
// support": { struct list_head nsdr_head; unsigned long start, end; }), one kmalloc'd node per
// clean range (kmalloc-32).
inline constexpr std::size_t non_sd_reg = 32;

}  // namespace sdmc::kernel_layout

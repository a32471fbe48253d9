// vm_flags bits with the values of include/linux/mm.h (6.12, x86-64), so that dumps read like
// /proc/PID/smaps and a kernel reviewer recognises them.
#pragma once

#include <cstdint>
#include <string>

namespace sdmc {

using vm_flags_t = std::uint64_t;

inline constexpr vm_flags_t VM_NONE = 0;
inline constexpr vm_flags_t VM_READ = 0x00000001;
inline constexpr vm_flags_t VM_WRITE = 0x00000002;
inline constexpr vm_flags_t VM_EXEC = 0x00000004;
inline constexpr vm_flags_t VM_SHARED = 0x00000008;
inline constexpr vm_flags_t VM_MAYREAD = 0x00000010;
inline constexpr vm_flags_t VM_MAYWRITE = 0x00000020;
inline constexpr vm_flags_t VM_MAYEXEC = 0x00000040;
inline constexpr vm_flags_t VM_MAYSHARE = 0x00000080;
inline constexpr vm_flags_t VM_GROWSDOWN = 0x00000100;
inline constexpr vm_flags_t VM_UFFD_MISSING = 0x00000200;
inline constexpr vm_flags_t VM_PFNMAP = 0x00000400;
inline constexpr vm_flags_t VM_UFFD_WP = 0x00001000;
inline constexpr vm_flags_t VM_LOCKED = 0x00002000;
inline constexpr vm_flags_t VM_IO = 0x00004000;
inline constexpr vm_flags_t VM_SEQ_READ = 0x00008000;
inline constexpr vm_flags_t VM_RAND_READ = 0x00010000;
inline constexpr vm_flags_t VM_DONTCOPY = 0x00020000;
inline constexpr vm_flags_t VM_DONTEXPAND = 0x00040000;
inline constexpr vm_flags_t VM_LOCKONFAULT = 0x00080000;
inline constexpr vm_flags_t VM_ACCOUNT = 0x00100000;
inline constexpr vm_flags_t VM_NORESERVE = 0x00200000;
inline constexpr vm_flags_t VM_HUGETLB = 0x00400000;
inline constexpr vm_flags_t VM_SYNC = 0x00800000;
inline constexpr vm_flags_t VM_ARCH_1 = 0x01000000;
inline constexpr vm_flags_t VM_WIPEONFORK = 0x02000000;
inline constexpr vm_flags_t VM_DONTDUMP = 0x04000000;
inline constexpr vm_flags_t VM_SOFTDIRTY = 0x08000000;
inline constexpr vm_flags_t VM_MIXEDMAP = 0x10000000;
inline constexpr vm_flags_t VM_HUGEPAGE = 0x20000000;
inline constexpr vm_flags_t VM_NOHUGEPAGE = 0x40000000;
inline constexpr vm_flags_t VM_MERGEABLE = 0x80000000;
// include/linux/mm.h: VM_DROPPABLE = VM_HIGH_ARCH_BIT_8 on 64-bit (1 << 40)
inline constexpr vm_flags_t VM_DROPPABLE = 1ull << 40;

inline constexpr vm_flags_t VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
inline constexpr vm_flags_t VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
inline constexpr vm_flags_t VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// The two-letter mnemonics of /proc/PID/smaps "VmFlags" (fs/proc/task_mmu.c:show_smap_vma_flags),
// in the kernel's order, separated by spaces.
std::string vm_flags_smaps(vm_flags_t flags);

}  // namespace sdmc

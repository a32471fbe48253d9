// ptrace(2) plumbing for the recorder (x86-64 only): system-call stops, running a system call
// inside a stopped tracee, and what a tracee's file descriptor refers to.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "record/mem_call.hpp"

namespace sdmc::record {

// PTRACE_GET_SYSCALL_INFO (Linux 5.3) at a seccomp, entry or exit stop.
struct syscall_stop {
  enum class kind : std::uint8_t { none, entry, exit, seccomp } kind = kind::none;
  std::uint32_t arch = 0;
  std::uint64_t nr = 0;
  std::array<std::uint64_t, 6> args{};
  std::int64_t rval = 0;  // exit stops: the result (negative errno on failure)
};
std::optional<syscall_stop> get_syscall_stop(pid_t tid);

// Runs system call `nr` in a tracee stopped at a system-call exit stop, returning its result,
// and leaves the tracee stopped with its registers as they were. It executes the `syscall`
// instruction at `insn` (one in the vDSO, so no memory of the tracee is written). Signals that
// arrive meanwhile are held back and re-sent afterwards. On a ptrace failure returns nullopt
// (the tracee died).
std::optional<std::int64_t> inject_syscall(pid_t tid, std::uint64_t insn, long nr,
                                           std::array<std::uint64_t, 6> args);

// The address of a `syscall` instruction (0f 05) in the tracee's [vdso], found from
// /proc/PID/maps and process_vm_readv.
std::optional<std::uint64_t> find_vdso_syscall(pid_t pid);

// What descriptor `fd` of `tid` is, from /proc/TID/fd/FD, its fdinfo (open flags) and fstat.
std::optional<file_ident> identify_fd(pid_t tid, int fd);

// The classification of a memory system call number (x86-64 numbers), mem_sys::other for the
// memory calls sdtrace has no operation for, nullopt for the rest.
std::optional<mem_sys> memory_syscall(std::uint64_t nr);
std::string syscall_name(std::uint64_t nr);
// The system calls the seccomp filter sends to the recorder (all of memory_syscall, execve,
// execveat).
std::vector<long> trapped_syscalls();

}  // namespace sdmc::record

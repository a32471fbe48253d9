// `sdmc record`: runs a program under ptrace with a seccomp filter that stops it at every memory
// system call (SECCOMP_RET_TRACE, PTRACE_O_TRACESECCOMP), and records its first process image.
//
// Why ptrace and not a preloaded library trapping with SECCOMP_RET_TRAP: a seccomp filter cannot
// be removed and survives execve, so with SIGSYS handling every program the recorded one starts
// (gcc's cc1 and as, a posix_spawn, a shell) would be killed by SIGSYS on its first mmap, before
// any preloaded constructor could install a handler; under ptrace the recorder simply lets those
// calls run. ptrace also sees the process from its first instruction (the loader's mmaps precede
// every constructor), needs no async-signal-safe code inside the program, leaves its signal
// handlers and its own seccomp use alone, and maps nothing into the recorded address space.
// The cost is two stops per memory system call (docs/performance.md).
//
// What it does not do: record the children (every descendant stays traced, because without a
// tracer its RET_TRACE calls would fail with ENOSYS, but only the first program's image is
// recorded); record 32-bit (i386, x32) programs (refused, exit 2); let the program use ptrace on
// its own children (they are traced already). Memory calls of the recorded threads run one at a
// time so that the trace's order is the order of their effects; stores of one thread made while
// another thread's call is in flight on the same pages may land after that call (a comment marks
// a store that then faults). sdmc waits for every descendant, as `strace -f` does, and exits
// with the first program's status.
#pragma once

#include <string>
#include <vector>

namespace sdmc::record {

struct session_options {
  std::vector<std::string> argv;  // the program and its arguments (PATH is searched)
  unsigned interval_ms = 100;     // periodic harvest; 0 = only before memory calls
  bool epoch_per_call = false;    // see recorder.hpp
};

struct session_result {
  // 2 when the recording could not be made (error says why); otherwise the program's exit status,
  // or 128 + signal with `signal` set when it was killed by one.
  int exit_code = 0;
  int signal = 0;
  std::string error;
  std::string trace;  // the sdtrace text; empty when recording never started
  std::string warning;  // e.g. raced stores, for stderr
};

session_result run_session(const session_options& o);

}  // namespace sdmc::record

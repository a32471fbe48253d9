// The seccomp filter of a recorded program: SECCOMP_RET_TRACE for every memory system call and
// for execve, so that the recorder (its ptrace tracer, PTRACE_O_TRACESECCOMP) sees each one
// before the kernel runs it; everything else runs untouched.
#pragma once

namespace sdmc::record {

// Installs the filter on the calling thread (inherited by its children and across execve). Sets
// no_new_privs first when the caller lacks CAP_SYS_ADMIN (kernel/seccomp.c:seccomp_prepare_filter
// requires one of the two). Returns 0 or the errno.
int install_trace_filter();

}  // namespace sdmc::record

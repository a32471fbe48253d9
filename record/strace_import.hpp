// `sdmc import-strace`: the output of `strace -f -e trace=memory` (optionally with -tt/-ttt
// timestamps, -T durations, -y paths, `[pid N]` or `N` prefixes, `<unfinished ...>` and
// `<... resumed>` halves) as layout-only sdtraces, one per process image.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sdmc::record {

struct strace_problem {
  int line = 0;  // 1-based line of the log
  std::string what;
};

struct strace_import {
  // Trace text per process image: key "PID", or "PID.K" for the K-th program a PID exec'd
  // (only when the log shows execve). A log without PID prefixes is one process, key "main".
  std::map<std::string, std::string> traces;
  std::vector<strace_problem> problems;  // lines not understood, never skipped silently
  std::size_t calls = 0;                  // memory calls converted
};

// `kernel`: the release for the `kernel` header (results from another kernel than 6.12 are then
// differences in replay, not failures); `source`: the log's name, for the header comment.
strace_import import_strace(std::string_view log, const std::string& kernel, const std::string& source);

}  // namespace sdmc::record

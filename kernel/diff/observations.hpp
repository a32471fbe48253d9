// kernel/diff/observations.hpp: the sdmc observation layer (kernel/OBSERVATIONS.md,
// observation format 1) of a KTAP log from the KUnit suite or the userspace
// observer. Tolerant like the KTAP parser: problems are recorded, never thrown.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel/diff/ktap.hpp"

namespace sdmc {

inline constexpr std::uint64_t obs_page_size = 4096;

struct obs_vma {
  std::uint64_t start = 0, end = 0;
  std::vector<std::string> flags;                // VmFlags mnemonics; empty for "-"
  std::map<std::string, std::string> keys;       // pgoff, anon, wprot, and unknown keys
};

struct obs_pg {
  std::uint64_t start = 0, npages = 0;
  std::string bits;                              // 7 chars: sd ex wp fi sw pr wr
  char sdscan = '-';                             // PAGE_IS_SOFT_DIRTY (`sdscan=`): '0', '1',
                                                 // '-' in logs from before the key
};

struct obs_op {
  int line = 0;                                  // line in the trace file
  std::string kind;                              // mmap, write, ...
  std::string result;                            // 0x..., 0, -EINVAL, SIGSEGV, SIGBUS, ...
  std::vector<obs_vma> vmas;
  std::vector<obs_pg> pages;                     // as printed (not merged)
};

struct obs_expect {
  int line = 0;
  bool ok = false;
  std::string got;                               // the got=VALUE of a FAIL
};

struct obs_trace {
  enum class status { ok, not_ok, skip, missing };

  std::string name;                              // from the "trace" line
  std::vector<std::pair<std::uint64_t, std::uint64_t>> range;
  int ops_declared = -1;
  std::vector<obs_op> ops;
  std::vector<obs_expect> expects;
  std::vector<int> mismatches;                   // LINE of each "mismatch"
  std::vector<std::string> errors;               // text after "error " (e.g. "parse 3 7 ...")
  std::optional<int> end_failures;               // absent: no "end" line
  status st = status::missing;                   // from the KTAP result line
  std::string skip_reason;                       // "# sdmc skip", else the SKIP directive
  int log_line = 0;                              // 1-based line of the "trace" line in the log

  const obs_op* find_op(int trace_line) const;   // first op of that trace line, or nullptr
};

struct obs_boot {
  int obs_version = -1;                          // -1: no version line
  std::string kernel, source;                    // source: the rest of the line after "source="
  int traces_declared = -1;
  std::vector<obs_trace> traces;
  std::optional<std::string> stats;              // the tokens after "stats" (KUnit only)
  bool truncated = false;                        // a trace or a KTAP test has no result line
  std::vector<std::string> problems;             // observation problems, then "ktap: ..." ones
  ktap_log ktap;                                 // the generic KTAP tree of the same text
};

// Parses the observation lines of one boot (KUnit or userspace observer).
obs_boot parse_observations(std::string_view ktap_text);

const char* to_string(obs_trace::status s);

// The pg runs of `op` with adjacent runs of equal bits merged.
std::vector<obs_pg> merged_pages(const obs_op& op);

// The 7 bits of the page containing `addr` after `op`, or "" if no pg run covers it.
std::string bits_at(const obs_op& op, std::uint64_t addr);
// Its sdscan ('0', '1'), '-' if the log does not say, or 0 if no pg run covers it.
char sdscan_at(const obs_op& op, std::uint64_t addr);

// Page address -> bits, one entry per page (at most `max_pages` entries).
std::map<std::uint64_t, std::string> expand_pages(const obs_op& op, std::size_t max_pages = 1u << 20);

}  // namespace sdmc

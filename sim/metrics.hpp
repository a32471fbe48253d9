// What a design costs and gets wrong on one trace: the numbers reviewers asked for (issue 3):
// the oracle's classes, VMA count (maximum and final), the design's own metadata, the
// operations whose result differs from the trace's, and the replay time.
#pragma once

#include <cstdint>

#include "model/policy.hpp"
#include "sim/oracle.hpp"
#include "sim/replay.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {

struct run_metrics {
  oracle_counts sd;                  // pagemap bit 55 against the ghost
  std::uint64_t vma_max = 0, vma_final = 0;
  std::uint64_t nodes_max = 0;       // non_sd_reg nodes (granular designs)
  std::uint64_t extra_bytes_max = 0; // the design's own per-VMA state (policy::extra_metadata_bytes)
  // The whole VMA metadata: VMAs at sizeof(struct vm_area_struct) as Debian's amd64 6.12 lays
  // it out (model/kernel_layout.hpp) plus the design's own, at its maximum over the run.
  std::uint64_t metadata_bytes_max = 0;
  std::uint64_t result_differences = 0;  // lines whose `= RESULT` the design does not reproduce
  std::uint64_t lines = 0;
  double seconds = 0;
  run_metrics& operator+=(const run_metrics& o);
};

// Replays `t` under `pol` (results and expectations of the trace are compared, not enforced).
run_metrics measure(const trace::Trace& t, const policy& pol, mutant bug = mutant::none);

}  // namespace sdmc

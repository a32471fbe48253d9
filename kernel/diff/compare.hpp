// The model's side of a kernel run: replay a trace on the model and describe every operation in
// the observation form of kernel/OBSERVATIONS.md, then compare with what a kernel observer
// printed, operation by operation.
#pragma once

#include <string>
#include <vector>

#include "kernel/diff/observations.hpp"
#include "model/policy.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc::kdiff {

// Replays `t` on the model and observes the pages of `range` after every operation (the
// kernel's `range` lines; empty: the trace's touched pages).
obs_trace model_observe(const trace::Trace& t, const policy& pol,
                        const std::vector<std::pair<std::uint64_t, std::uint64_t>>& range = {});

// One difference between the model and a kernel observer.
struct difference {
  int line = 0;          // trace line of the operation (0: the trace as a whole)
  std::string what;      // "result", "vmas", "pages", "status", ...
  std::string model, kernel;
};

// Compares observations of one trace; empty when they agree. A kernel-side skip is not a
// difference (the caller counts it).
std::vector<difference> compare(const obs_trace& model, const obs_trace& kernel);

// The side-by-side rendering of a trace's observations (model | kernel) for a report.
std::string side_by_side(const trace::Trace& t, const obs_trace& model, const obs_trace& kernel);

}  // namespace sdmc::kdiff

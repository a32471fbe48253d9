// Replaying an sdtrace on the model: execute each line, check `= RESULT` and `expect`, and
// judge the oracle at every observation point (clear_refs, scan, epoch, expect, end).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/kernel.hpp"
#include "sim/oracle.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {

// One line whose check did not hold.
struct check_failure {
  int line = 0;
  std::string op;        // the line's text
  std::string expected;  // what the trace says
  std::string computed;  // what the model computed
};

struct replay_options {
  // Checks of `expect` lines (and of `= RESULT` lines) are failures only under the policy the
  // trace was written for; otherwise they are reported as differences.
  bool expectations_are_failures = true;
  bool results_are_failures = true;
  // Run the ghost oracle (off: the model alone, for the side-by-side benchmark).
  bool oracle = true;
  // How droppable memory escapes writeback (model/droppable.hpp); 6.12 by default.
  droppable_design droppable = droppable_design::swapbacked;
};

// Steps a trace line by line: the same code serves `replay`, `maps --at` and the properties.
class replayer {
 public:
  replayer(const trace::Trace& t, const policy& pol, replay_options opt = {});
  // Executes one line; returns false when it found a failure or difference.
  bool step(const trace::Line& line);
  // The end-of-trace observation.
  void finish();

  kernel k;
  oracle ghost;
  std::vector<check_failure> failures;     // checks that must hold and did not
  std::vector<check_failure> differences;  // checks reported but not failing
  std::vector<Result> results;             // the computed result of every executed line

 private:
  replay_options opt_;
  Result execute(const trace::Line& line, bool* needs_address);
  std::string check_expect(const trace::Expect& e) const;  // "" when it holds
};

// The pages a trace touches: the union of the ranges its operations name (the observed range
// of the kernel runners too).
pset touched_pages(const trace::Trace& t);
pset touched_pages(const std::vector<trace::Line>& lines);

}  // namespace sdmc

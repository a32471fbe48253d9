// Running a trace property under RapidCheck programmatically and getting the shrunk
// counterexample back as a trace.
//
// RapidCheck's public entry points (rc::check, RC_GTEST_PROP) only print a failure. We call
// rc::detail::checkProperty (what both of them call through checkTestable; declared in
// librapidcheck-dev's rapidcheck/Check.hpp) with our own TestListener, and read its
// rc::detail::TestResult: a FailureResult carries `counterExample`, the shown values of the
// final shrunk case. Our traces are shown as their sdtrace text
// (props/trace_gen.hpp), so the counterexample is parsed back into a trace::Trace.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "props/properties.hpp"
#include "props/trace_gen.hpp"

namespace sdmc::props {

struct campaign_options {
  std::uint64_t seed = 1;
  int cases = 1000;       // RapidCheck's max_success
  int max_size = 100;     // RapidCheck's max_size (the trace length scales with it)
  bool shrink = true;
  trace_gen_options gen;
};

struct campaign_result {
  bool found = false;
  int cases_passed = 0;         // cases that held before the first failure (or in all)
  int shrinks = 0;              // shrinking steps RapidCheck accepted
  std::string message;          // RapidCheck's failure description (the finding)
  trace::Trace counterexample;  // shrunk
  double seconds = 0;           // generation, checking and shrinking
};

using trace_property = std::function<std::optional<finding>(const trace::Trace&)>;

// Checks `prop` on `cases` generated traces. An error of RapidCheck itself (or too many
// discarded cases) throws std::runtime_error with its message.
campaign_result run_campaign(const trace_property& prop, const campaign_options& opt);

// RapidCheck's parameters from RC_PARAMS (its own syntax, e.g. RC_PARAMS="seed=7
// max_success=5000"), falling back to `fallback` for keys RC_PARAMS does not set.
campaign_options with_rc_params(campaign_options fallback);

}  // namespace sdmc::props

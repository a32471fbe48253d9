// The check campaign behind `sdmc check` (and the mutant tests): random traces from the shared
// generator, replayed under a design with the ghost oracle, checked after every operation, and
// every violation shrunk to a minimal trace that replays to the same violation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "model/policy.hpp"
#include "sim/generator.hpp"
#include "sim/kernel.hpp"
#include "sim/oracle.hpp"
#include "sim/state_check.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {


struct violation {
  enum class kind { false_negative, lost_new_mapping, invariant } what;
  std::string message;  // for invariants
  int line = 0;         // the operation after which it showed (1-based index into the trace)
};
std::string describe(const violation& v);

// Replays `t` under `pol` and returns the first violation of soundness (a false negative; a
// lost new mapping where the design signals new mappings) or of `check`, judged after every
// operation. Kernel-mandated gaps (oracle_counts::kernel_gaps) are not violations.
std::optional<violation> first_violation(const trace::Trace& t, const policy& pol,
                                         mutant bug = mutant::none,
                                         const state_check& check = nullptr);

// Delta debugging (ddmin) over the operations of `t`: the smallest trace found on which
// first_violation still reports a violation of the same kind. Deterministic.
trace::Trace shrink(const trace::Trace& t, const policy& pol, violation::kind kind,
                    mutant bug = mutant::none, const state_check& check = nullptr);

// The generator mix of the campaign: every operation the model knows, inside a small window
// so that operations interact (the same mix kernel-diff sends to the real kernel).
generator_options campaign_case(std::uint64_t seed, std::uint64_t ops = 40);

}  // namespace sdmc

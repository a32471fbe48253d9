// The check campaign behind `sdmc check`: the random traces it replays (the shared generator's
// mix) and the delta debugging that shrinks a failing one. What "failing" means is the caller's:
// `sdmc check` asks the properties of props/properties.hpp.
#pragma once

#include <cstdint>
#include <functional>

#include "sim/generator.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {

// Delta debugging (ddmin) over the operations of `t`: the smallest trace found on which
// `fails` still holds (it holds on `t`). Deterministic; lines are renumbered from 1.
trace::Trace shrink(const trace::Trace& t, const std::function<bool(const trace::Trace&)>& fails);

// The generator mix of the campaign: every operation the model knows, inside a small window
// so that operations interact (the same mix kernel-diff sends to the real kernel).
generator_options campaign_case(std::uint64_t seed, std::uint64_t ops = 40);

}  // namespace sdmc

// A state check beyond the oracle's soundness (the structural invariants of
// props/invariants.hpp): returns a message for the first violated invariant. Called by the
// check campaign after every operation and by the explorer at every state.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "sim/kernel.hpp"
#include "sim/oracle.hpp"

namespace sdmc {

using state_check = std::function<std::optional<std::string>(const kernel&, const oracle&)>;

}  // namespace sdmc

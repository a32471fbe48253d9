// `--mutant NAME` (model/mutant.hpp): shared by the subcommands that run the model.
#pragma once

#include <optional>
#include <string>

#include "model/mutant.hpp"

namespace sdmc::cli {

// The mutant named `name` ("" or "none": the model as it is). An unknown name prints
// "<command>: unknown mutant" with the catalogue to stderr and returns nullopt (exit 2).
std::optional<mutant> parse_mutant_option(const std::string& name, const char* command);

}  // namespace sdmc::cli

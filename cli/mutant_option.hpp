// `--mutant NAME` (model/mutant.hpp) and `--droppable DESIGN` (model/droppable.hpp): shared by
// the subcommands that run the model.
#pragma once

#include <optional>
#include <string>

#include "model/droppable.hpp"
#include "model/mutant.hpp"

namespace sdmc::cli {

// The mutant named `name` ("" or "none": the model as it is). An unknown name prints
// "<command>: unknown mutant" with the catalogue to stderr and returns nullopt (exit 2).
std::optional<mutant> parse_mutant_option(const std::string& name, const char* command);

// The droppable design named `name`; an unknown one prints "<command>: unknown droppable
// design" with the known names to stderr and returns nullopt (exit 2).
std::optional<droppable_design> parse_droppable_option(const std::string& name, const char* command);

}  // namespace sdmc::cli

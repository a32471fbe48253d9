#include "cli/mutant_option.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string_view>
#include <vector>

namespace sdmc::cli {

std::optional<mutant> parse_mutant_option(const std::string& name, const char* command) {
  if (name.empty() || name == "none") return mutant::none;
  if (auto m = mutant_by_name(name)) return m;
  fmt::print(stderr, "{}: unknown mutant '{}'; the catalogue (model/mutant.hpp):\n", command, name);
  for (const mutant_info& i : mutant_catalogue) fmt::print(stderr, "  {:34} {}\n", i.name, i.history);
  return std::nullopt;
}

std::optional<droppable_design> parse_droppable_option(const std::string& name, const char* command) {
  if (auto d = droppable_design_by_name(name)) return d;
  std::vector<std::string_view> known;
  for (const auto& d : droppable_designs) known.push_back(d.name);
  fmt::print(stderr, "{}: unknown droppable design '{}' (known: {})\n", command, name,
             fmt::join(known, ", "));
  return std::nullopt;
}

}  // namespace sdmc::cli

#include "cli/mutant_option.hpp"

#include <fmt/format.h>

namespace sdmc::cli {

std::optional<mutant> parse_mutant_option(const std::string& name, const char* command) {
  if (name.empty() || name == "none") return mutant::none;
  if (auto m = mutant_by_name(name)) return m;
  fmt::print(stderr, "{}: unknown mutant '{}'; the catalogue (model/mutant.hpp):\n", command, name);
  for (const mutant_info& i : mutant_catalogue) fmt::print(stderr, "  {:34} {}\n", i.name, i.history);
  return std::nullopt;
}

}  // namespace sdmc::cli

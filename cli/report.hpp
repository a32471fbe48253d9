// Text and JSON renderings of model state shared by the sdmc subcommands.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/policy.hpp"

#include "sim/kernel.hpp"
#include "sim/replay.hpp"

namespace sdmc::cli {

// One line of /proc/PID/maps for a VMA.
std::string maps_line(const kernel& k, const vma_ref& vma);
// One character per page: D present+sd, p present, S swapped+sd, s swapped, M marker+sd,
// m marker, d not present+sd, . not present. Runs longer than 8 are written as c{N}.
std::string page_strip(const kernel& k, pfn_t start, pfn_t end);
nlohmann::json vmas_json(const kernel& k);
// Run-length encoded pagemap bits of the given pages.
nlohmann::json pages_json(const kernel& k, const pset& pages);
nlohmann::json counts_json(const oracle_counts& c);
std::string hex(std::uint64_t v);
// The designs named by --policy (all of them when `names` is empty, which it then lists);
// nullopt after printing "sdmc CMD: unknown policy" for a name make_policy does not know.
// Writes the storyboard SVG of a counterexample file beside it (sdmc draw --storyboard) and
// says where; a drawing error is reported on stderr and does not stop the command.
void storyboard_beside(const std::string& counterexample, std::string_view policy, const char* cmd);
std::optional<std::vector<std::unique_ptr<policy>>> policies_named(std::vector<std::string>& names,
                                                                   const char* cmd);

}  // namespace sdmc::cli

// The policies sdmc knows, by the name `--policy` takes.
#include "model/policies/granular.hpp"
#include "model/policies/precise.hpp"
#include "model/policies/sticky.hpp"
#include "model/policies/uffd_wp.hpp"
#include "model/policies/upstream_612.hpp"

namespace sdmc {

std::unique_ptr<policy> make_policy(std::string_view name) {
  if (name == "upstream-6.12") return std::make_unique<upstream_612>();
  if (name == "sticky") return std::make_unique<sticky>();
  if (name == "precise") return std::make_unique<precise>();
  if (name == "granular") return std::make_unique<granular>(false);
  if (name == "granular-coalesce") return std::make_unique<granular>(true);
  if (name == "uffd-wp") return std::make_unique<uffd_wp>();
  return nullptr;
}

std::vector<std::string> policy_names() { return {"upstream-6.12", "sticky", "precise", "granular", "granular-coalesce", "uffd-wp"}; }

}  // namespace sdmc

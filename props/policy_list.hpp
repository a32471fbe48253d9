// Policy lists for the property tests, taken from policy_names() so that designs added later
// are picked up without editing the tests.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "model/policy.hpp"

namespace sdmc::props {

inline const char* baseline_policy = "upstream-6.12";

inline std::vector<std::string> policies_but_baseline() {
  std::vector<std::string> out = policy_names();
  out.erase(std::remove(out.begin(), out.end(), baseline_policy), out.end());
  return out;
}

// Those of `wanted` that policy_names() knows (designs still being written are skipped).
inline std::vector<std::string> present_policies(std::vector<std::string> wanted) {
  const std::vector<std::string> known = policy_names();
  std::erase_if(wanted, [&](const std::string& n) {
    return std::find(known.begin(), known.end(), n) == known.end();
  });
  return wanted;
}

// The designs that promise precision (policy::promises_precision), as `sdmc check` asks it.
inline std::vector<std::string> policies_promising_precision() {
  std::vector<std::string> out = policy_names();
  std::erase_if(out, [](const std::string& n) { return !make_policy(n)->promises_precision(); });
  return out;
}

// GoogleTest parameter names: letters, digits and '_' only ("upstream-6.12" -> upstream_6_12).
inline std::string param_name(const std::string& policy) {
  std::string s = policy;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

}  // namespace sdmc::props

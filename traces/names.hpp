// Name tables of sdtrace v1, in the directions the public header does not offer (name -> value).
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <variant>

#include "traces/sdtrace.hpp"

namespace sdmc::trace {

// Indexed like the alternatives of Op.
inline constexpr std::array<std::string_view, std::variant_size_v<Op>> kOpNames = {
    "mmap",  "munmap", "brk",        "mprotect", "mremap", "madvise", "mlock", "munlock", "write",
    "read",  "clear_refs", "uffd_wp", "scan",    "reclaim", "fork",   "epoch", "expect",
};

std::optional<std::size_t> op_index(std::string_view name);
std::optional<Advice> advice_from_name(std::string_view name);
std::optional<Field> field_from_name(std::string_view name);
std::optional<Sharing> sharing_from_name(std::string_view name);
// Only the five protections of the format: --- r-- rw- r-x rwx.
std::optional<std::uint8_t> prot_from_string(std::string_view s);

}  // namespace sdmc::trace

#include "sim/state_check.hpp"

namespace sdmc {

std::optional<std::string> shmem_data_lost(const kernel& k) {
  for (const memfile& f : k.mm.files) {
    const pset lost = f.written - f.cached - f.swapped;
    if (!lost.empty())
      return "page " + std::to_string(lost.begin()->lower()) + " of memory file '" +
             (f.name.empty() ? std::string("(shared anon)") : f.name) +
             "' was written and is neither in the page cache nor in swap: its data is lost";
    if (!(f.dirty - f.cached).empty())
      return "memory file '" + f.name + "' has a dirty folio outside the page cache";
  }
  return std::nullopt;
}

}  // namespace sdmc

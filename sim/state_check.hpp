// A state check beyond the oracle's soundness: returns a message for the first violated
// invariant. The explorer takes one (explore_options::extra_check) on top of the structural
// invariants of sim/invariants.hpp, which it always checks.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "sim/kernel.hpp"
#include "sim/oracle.hpp"

namespace sdmc {

using state_check = std::function<std::optional<std::string>(const kernel&, const oracle&)>;

// A page stored to through a shared mapping holds data until a hole is punched
// (memfile::written): its folio must stay in the page cache or in swap, which reclaim
// guarantees only if the PTE's dirty bit reached the folio first (try_to_unmap_one,
// zap_present_folio_ptes); and a dirty folio is a cached one. The message for the first memory
// file that breaks this, if any. Checked by the explorer at every state and by the
// MAP_DROPPABLE properties after every operation.
std::optional<std::string> shmem_data_lost(const kernel& k);

}  // namespace sdmc

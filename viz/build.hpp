// Building the graph of a diagram from captured states (viz/state.hpp): no Graphviz here.
//
// A picture is a list of panels stacked top to bottom (one for a snapshot, one per operation for
// a storyboard). A panel holds one lane per policy; a lane is one row: the policy's label, then
// its VMAs and the gaps between them in address order. Rows are aligned by address with
// invisible edges, and a storyboard links each lane to the same lane of the next panel with the
// lineage edges (viz/lineage.hpp).
#pragma once

#include <string>
#include <vector>

#include "viz/graph.hpp"
#include "viz/lineage.hpp"
#include "viz/state.hpp"

namespace sdmc::viz {

struct panel {
  std::string caption;                   // the operation, "" for a snapshot
  std::vector<lane_state> lanes;         // one per policy
  std::vector<std::vector<link>> links;  // per lane, from the previous panel (empty for the first)
};

graph build(const std::string& title, const std::vector<panel>& panels);

// Node ids, so tests and callers can find what they look for.
std::string vma_node_id(int panel, int lane, pfn_t start);
std::string gap_node_id(int panel, int lane, pfn_t start);
std::string lane_node_id(int panel, int lane);

// Pages per run up to which a run is drawn page by page; longer runs are one cell with a count.
inline constexpr pfn_t condense_above = 3;

// The strip's letters: pagemap state as `sdmc maps` prints it, and the oracle's verdict.
char pagemap_letter(const page_state& s);
std::string oracle_word(const page_state& s);  // "FN", "LOST", "FP", "w", "n", "nw" or ""

}  // namespace sdmc::viz

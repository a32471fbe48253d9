// The graph of a diagram, independent of Graphviz: what the builders (viz/build.hpp) produce, what
// tests inspect, and what viz/render.cpp hands to cgraph. A node's label is a table of cells
// (Graphviz HTML-like labels), kept here as data so that a test can ask for a cell's text or
// colour instead of parsing markup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/types.hpp"

namespace sdmc::viz {

using attrs = std::map<std::string, std::string>;

struct cell {
  std::string text;     // plain text; '\n' breaks the line
  std::string fill;     // background colour, "" for none
  std::string font;     // font colour, "" for the default
  bool bold = false;
  std::string tooltip;  // shown on hover in SVG
  int min_width = 0;    // points, 0 for the text's width
  bool left = false;    // align the text left (centred otherwise)
};

// A block is a table of its own inside the node's label; its rows share columns, so a block
// with several rows of the same length draws them aligned (the page strip).
struct block {
  std::vector<std::vector<cell>> rows;
  std::string border_color;  // "" for the default
  int cell_border = 1;
};

struct node {
  std::string id;
  std::string kind;     // "vma", "gap", "lane"
  std::string cluster;  // id of the innermost cluster holding it, "" for the top level
  std::vector<block> label;  // a table label; `text` is used when empty
  std::string text;
  attrs a;              // further Graphviz attributes (shape, style, color, ...)
  // What the node stands for.
  int panel = 0, lane = 0;
  pfn_t start = 0, end = 0;  // the address range (VMA or gap)
  std::uint32_t vma_id = 0;  // vma: the vm_area_struct identity

  // Every cell's text, cells separated by ' ' and rows by '\n' (for searching).
  std::string all_text() const;
  // The cells of every block, row by row.
  std::vector<const cell*> cells() const;
};

struct edge {
  std::string tail, head;
  std::string kind;   // lineage: "same" "changed" "resized" "split" "merge" "move"; "align", "order"
  std::string label;
  attrs a;
  bool visible() const;
};

struct cluster {
  std::string id, parent;  // parent "" for the top level
  std::string label;
  attrs a;
};

struct graph {
  std::string name = "sdmc";
  std::string title;                 // top of the picture
  std::vector<block> legend;         // under the title, one line each; may be empty
  attrs a;                           // graph attributes
  std::vector<cluster> clusters;
  std::vector<node> nodes;
  std::vector<edge> edges;
  // Groups of node ids that share a rank (one row of the picture), in left-to-right order.
  std::vector<std::vector<std::string>> rows;

  const node* find(const std::string& id) const;
  std::vector<const node*> nodes_of(const std::string& kind, int panel = -1, int lane = -1) const;
  std::vector<const edge*> edges_of(const std::string& kind) const;
};

}  // namespace sdmc::viz

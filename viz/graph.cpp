#include "viz/graph.hpp"

namespace sdmc::viz {

std::string node::all_text() const {
  std::string s = text;
  for (const block& b : label)
    for (const auto& row : b.rows) {
      if (!s.empty()) s += '\n';
      for (std::size_t i = 0; i < row.size(); ++i) s += (i ? " " : "") + row[i].text;
    }
  return s;
}

std::vector<const cell*> node::cells() const {
  std::vector<const cell*> out;
  for (const block& b : label)
    for (const auto& row : b.rows)
      for (const cell& c : row) out.push_back(&c);
  return out;
}

bool edge::visible() const {
  auto it = a.find("style");
  return it == a.end() || it->second != "invis";
}

const node* graph::find(const std::string& id) const {
  for (const node& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

std::vector<const node*> graph::nodes_of(const std::string& kind, int panel, int lane) const {
  std::vector<const node*> out;
  for (const node& n : nodes)
    if (n.kind == kind && (panel < 0 || n.panel == panel) && (lane < 0 || n.lane == lane))
      out.push_back(&n);
  return out;
}

std::vector<const edge*> graph::edges_of(const std::string& kind) const {
  std::vector<const edge*> out;
  for (const edge& e : edges)
    if (e.kind == kind) out.push_back(&e);
  return out;
}

}  // namespace sdmc::viz

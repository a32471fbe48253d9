#include "viz/render.hpp"

#include <cgraph.h>
#include <gvc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#if defined(__SANITIZE_ADDRESS__)
#define SDMC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SDMC_ASAN 1
#endif
#endif
#ifdef SDMC_ASAN
// LeakSanitizer, in the ASan build of every program that renders: Graphviz 2.42's layout leaks
// (its HTML-label parser, dot's virtual edges, the pango plugin's font caches and fontconfig's
// under them), none of it memory this code could free. Matched by library, so that a leak
// through cgraph (agopen without agclose) is still reported.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libgvc.so\n"
         "leak:libgvplugin_dot_layout.so\n"
         "leak:libgvplugin_pango.so\n"
         "leak:libpango\n"
         "leak:libfontconfig.so\n"
         "leak:libglib-2.0.so\n"
         "leak:libcairo.so\n";
}
// ... and without the list of what was suppressed on every exit.
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
#endif

namespace sdmc::viz {

namespace {

// Graphviz's C API takes char* for strings it only reads.
char* c(const std::string& s) { return const_cast<char*>(s.c_str()); }

std::string xml(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\n': out += "<BR/>"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string html_text(const cell& x) {
  std::string t = x.text.empty() ? " " : xml(x.text);
  if (x.bold) t = "<B>" + t + "</B>";
  if (!x.font.empty()) t = "<FONT COLOR=\"" + xml(x.font) + "\">" + t + "</FONT>";
  return t;
}

// `fixed`: keep the table's natural width inside a wider cell (Graphviz stretches it otherwise).
std::string html_block(const block& b, bool fixed = false) {
  std::string s = "<TABLE BORDER=\"0\" CELLBORDER=\"" + std::to_string(b.cell_border) +
                  "\" CELLSPACING=\"0\" CELLPADDING=\"3\"";
  if (fixed) s += " FIXEDSIZE=\"TRUE\" ALIGN=\"LEFT\"";
  if (!b.border_color.empty()) s += " COLOR=\"" + xml(b.border_color) + "\"";
  s += ">";
  for (const auto& row : b.rows) {
    s += "<TR>";
    for (const cell& x : row) {
      s += "<TD";
      if (!x.fill.empty()) s += " BGCOLOR=\"" + xml(x.fill) + "\"";
      if (x.min_width) s += " WIDTH=\"" + std::to_string(x.min_width) + "\"";
      if (x.left) s += " ALIGN=\"LEFT\"";
      // A TOOLTIP is kept only on an element with an HREF (SVG shows it on hover).
      if (!x.tooltip.empty()) s += " HREF=\"#\" TOOLTIP=\"" + xml(x.tooltip) + "\"";
      s += ">" + html_text(x) + "</TD>";
    }
    s += "</TR>";
  }
  return s + "</TABLE>";
}

// A node's label: one outer table, one inner table per block.
std::string html_label(const std::vector<block>& blocks, const std::string& border) {
  std::string s = "<TABLE BORDER=\"1\" CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"0\"";
  if (!border.empty()) s += " COLOR=\"" + xml(border) + "\"";
  s += ">";
  for (const block& b : blocks) s += "<TR><TD>" + html_block(b) + "</TD></TR>";
  return s + "</TABLE>";
}

std::string graph_label(const graph& g) {
  std::string s = "<TABLE BORDER=\"0\" CELLSPACING=\"4\">";
  if (!g.title.empty()) s += "<TR><TD ALIGN=\"LEFT\"><FONT POINT-SIZE=\"16\"><B>" + xml(g.title) + "</B></FONT></TD></TR>";
  for (const block& b : g.legend) s += "<TR><TD ALIGN=\"LEFT\">" + html_block(b, true) + "</TD></TR>";
  return s + "</TABLE>";
}

// Plain DOT text: \n is a line break, so backslashes are doubled.
std::string dot_text(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\n') out += "\\n";
    else if (ch == '\\') out += "\\\\";
    else out += ch;
  }
  return out;
}

// Graphviz reports errors through agerr; keep them to put in the exception.
std::string gv_errors;
int collect(char* msg) {
  gv_errors += msg;
  return 0;
}
struct error_capture {
  agusererrf old;
  agerrlevel_t old_level;
  error_capture() : old(agseterrf(collect)), old_level(agseterr(AGERR)) { gv_errors.clear(); }
  ~error_capture() {
    agseterrf(old);
    agseterr(old_level);
  }
};

void set_html(Agraph_t* root, void* obj, Agsym_t* sym, const std::string& html) {
  char* h = agstrdup_html(root, c(html));
  agxset(obj, sym, h);
  agstrfree(root, h);
}

struct cgraph_deleter {
  void operator()(Agraph_t* g) const { agclose(g); }
};
using graph_ptr = std::unique_ptr<Agraph_t, cgraph_deleter>;

// The cgraph form of the graph.
graph_ptr to_cgraph(const graph& g) {
  graph_ptr root(agopen(c(g.name), Agdirected, nullptr));
  Agraph_t* r = root.get();
  Agsym_t* node_label = agattr(r, AGNODE, c("label"), c("\\N"));
  Agsym_t* graph_label_sym = agattr(r, AGRAPH, c("label"), c(""));
  for (const auto& [k, v] : g.a) agsafeset(r, c(k), c(v), c(""));
  if (!g.title.empty() || !g.legend.empty()) set_html(r, r, graph_label_sym, graph_label(g));

  std::map<std::string, Agraph_t*> sub{{"", r}};
  for (const cluster& cl : g.clusters) {
    Agraph_t* parent = sub.at(cl.parent);
    Agraph_t* s = agsubg(parent, c(cl.id), 1);
    for (const auto& [k, v] : cl.a) agsafeset(s, c(k), c(v), c(""));
    agsafeset(s, c("label"), c(dot_text(cl.label)), c(""));
    sub[cl.id] = s;
  }
  std::map<std::string, Agnode_t*> nodes;
  for (const node& n : g.nodes) {
    Agnode_t* an = agnode(r, c(n.id), 1);
    if (!n.cluster.empty()) agsubnode(sub.at(n.cluster), an, 1);
    for (const auto& [k, v] : n.a)
      if (k != "color" || n.label.empty()) agsafeset(an, c(k), c(v), c(""));
    if (!n.label.empty()) {
      auto col = n.a.find("color");
      set_html(r, an, node_label, html_label(n.label, col == n.a.end() ? "" : col->second));
    } else {
      agxset(an, node_label, c(dot_text(n.text)));
    }
    nodes[n.id] = an;
  }
  for (std::size_t i = 0; i < g.rows.size(); ++i) {
    const auto& row = g.rows[i];
    if (row.empty()) continue;
    const node* first = g.find(row.front());
    Agraph_t* rs = agsubg(sub.at(first ? first->cluster : ""), c("row" + std::to_string(i)), 1);
    agsafeset(rs, c("rank"), c("same"), c(""));
    for (const std::string& id : row) agsubnode(rs, nodes.at(id), 1);
  }
  for (std::size_t i = 0; i < g.edges.size(); ++i) {
    const edge& e = g.edges[i];
    Agedge_t* ae = agedge(r, nodes.at(e.tail), nodes.at(e.head), c("e" + std::to_string(i)), 1);
    for (const auto& [k, v] : e.a) agsafeset(ae, c(k), c(k == "label" ? dot_text(v) : v), c(""));
  }
  return root;
}

// One Graphviz context for the whole process. Graphviz 2.42's pango plugin caches a pointer to
// the last font name (plugin/pango/gvtextlayout_pango.c:pango_textlayout), which lives in the
// context's font dictionary: freeing the context and rendering again with a new one reads
// freed memory (ASan finds it). Kept, the context stays reachable and the cache valid.
GVC_t* context() {
  static GVC_t* const gvc = gvContext();
  if (!gvc) throw draw_error("Graphviz: no context (libgvc)");
  return gvc;
}

std::string write_dot(Agraph_t* g) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  if (!f) throw draw_error(std::string("cannot write DOT: ") + std::strerror(errno));
  const int rc = agwrite(g, f);
  std::fclose(f);
  std::string out(buf ? buf : "", len);
  std::free(buf);
  if (rc != 0) throw draw_error("Graphviz could not write DOT: " + gv_errors);
  return out;
}

}  // namespace

std::optional<format> format_of(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".svg") return format::svg;
  if (ext == ".png") return format::png;
  if (ext == ".dot" || ext == ".gv") return format::dot;
  return std::nullopt;
}

std::string render(const graph& g, format f) {
  error_capture errors;
  if (f == format::dot) return write_dot(to_cgraph(g).get());

  GVC_t* gvc = context();
  graph_ptr cg = to_cgraph(g);
  if (gvLayout(gvc, cg.get(), "dot") != 0)
    throw draw_error("Graphviz could not lay out the diagram: " + gv_errors);
  char* data = nullptr;
  unsigned int len = 0;
  const int rc = gvRenderData(gvc, cg.get(), f == format::svg ? "svg" : "png", &data, &len);
  std::string out(data ? data : "", data ? len : 0);
  if (data) gvFreeRenderData(data);
  gvFreeLayout(gvc, cg.get());
  if (rc != 0 || out.empty())
    throw draw_error(std::string("Graphviz could not render ") + (f == format::svg ? "SVG" : "PNG") +
                     " (is the Graphviz plugin for it installed?): " + gv_errors);
  return out;
}

void write_picture(const graph& g, const std::string& path) {
  const auto f = format_of(path);
  if (!f)
    throw draw_error("cannot tell the picture format of '" + path +
                     "': the output must end in .svg, .png or .dot");
  const std::string bytes = render(g, *f);
  std::ofstream out(path, std::ios::binary);
  if (!out) throw draw_error("cannot write " + path + ": " + std::strerror(errno));
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.close();
  if (!out) throw draw_error("cannot write " + path + ": " + std::strerror(errno));
}

}  // namespace sdmc::viz

// sdmc draw: the graph of a diagram (nodes, labels, edges) for traces whose outcome the
// semantics document states, the pictures Graphviz makes of it (SVG read back with libxml2, PNG
// decoded with libpng, DOT parsed with cgraph), and bad input (exit 2 with a clear message).
#include <cgraph.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <png.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/policy.hpp"
#include "sim/kernel.hpp"
#include "sim/replay.hpp"
#include "viz/build.hpp"
#include "viz/draw.hpp"
#include "viz/state.hpp"

namespace sdmc::viz {
namespace {

namespace fs = std::filesystem;
using u64 = std::uint64_t;
constexpr u64 ps = 4096;
constexpr u64 r = 0x100000000;  // every trace here starts its mappings at r

loaded_trace inline_trace(const std::string& text) {
  loaded_trace lt;
  lt.t = trace::parse(text, "inline.sdt");
  lt.lines = int(std::count(text.begin(), text.end(), '\n'));
  return lt;
}

graph snapshot_of(const std::string& text, std::vector<std::string> policies = {"upstream-6.12"},
                  std::optional<int> at = std::nullopt) {
  draw_request req;
  req.policies = std::move(policies);
  req.at = at;
  return draw(inline_trace(text), req);
}

graph storyboard_of(const std::string& text, std::optional<int> from = std::nullopt,
                    std::optional<int> to = std::nullopt) {
  draw_request req;
  req.storyboard = true;
  req.from = from;
  req.to = to;
  return draw(inline_trace(text), req);
}

const node* vma(const graph& g, int panel, int lane, u64 addr) {
  return g.find(vma_node_id(panel, lane, addr / ps));
}

// The texts of one row of a VMA's page strip (0: pagemap, 1: oracle, 2: non_sd_reg).
std::vector<std::string> strip_row(const node& n, std::size_t row) {
  std::vector<std::string> out;
  for (const cell& c : n.label.back().rows.at(row)) out.push_back(c.text);
  return out;
}
const cell& strip_cell(const node& n, std::size_t row, std::size_t i) { return n.label.back().rows.at(row).at(i); }

bool has_cell(const node& n, const std::string& text) {
  for (const cell* c : n.cells())
    if (c->text == text) return true;
  return false;
}

// The panel of a storyboard whose caption is that of trace line `line`.
int panel_of(const graph& g, int line) {
  const std::string prefix = "line " + std::to_string(line) + ":";
  for (const cluster& c : g.clusters)
    if (c.label.rfind(prefix, 0) == 0) return std::stoi(c.id.substr(std::string("cluster_p").size()));
  return -1;
}

// The fill the legend gives a word of the strip (the colour a reader looks up).
std::string legend_fill(const graph& g, const std::string& word) {
  for (const block& b : g.legend)
    for (const auto& row : b.rows)
      for (const cell& c : row)
        if (c.text == word) return c.fill;
  return "?";
}

std::vector<const edge*> edges_from(const graph& g, const std::string& tail, const std::string& kind) {
  std::vector<const edge*> out;
  for (const edge& e : g.edges)
    if (e.tail == tail && e.kind == kind) out.push_back(&e);
  return out;
}

// Sequence A of kernel-6.12-semantics.md 2.5: an mremap move whose destination merges into a
// clean neighbour takes the neighbour's flags, so the moved VMA's VM_SOFTDIRTY is lost.
const std::string seq_a =
    "sdtrace 1\n"
    "mmap 0x100000000 5p --- private\n"          // 2: r, a PROT_NONE reservation
    "mmap 0x100001000 1p rw- private fixed\n"    // 3: a
    "clear_refs\n"                               // 4
    "mmap 0x100003000 1p rw- private fixed\n"    // 5: b, fresh: VM_SOFTDIRTY
    "mremap 0x100003000 1p 1p maymove fixed 0x100002000 = 0x100002000\n";  // 6: b -> a's right

// Sequence D: a clean, written page is re-reported soft-dirty when an adjacent mmap merges
// with its VMA (mm/mmap.c:__mmap_region sets VM_SOFTDIRTY on the merged VMA).
const std::string seq_d =
    "sdtrace 1\n"
    "mmap 0x100000000 8p --- private\n"          // 2
    "mmap 0x100001000 1p rw- private fixed\n"    // 3: a
    "write 0x100001000\n"                        // 4
    "clear_refs\n"                               // 5
    "mmap 0x100002000 1p rw- private fixed\n";   // 6: merges with a

// --- snapshots ----------------------------------------------------------------------------

TEST(draw_snapshot, vmas_and_gaps_in_address_order_with_their_flags) {
  const graph g = snapshot_of(
      "sdtrace 1\n"
      "mmap 0x100000000 2p rw- private\n"
      "mmap 0x100003000 1p r-- private\n"
      "clear_refs\n"
      "write 0x100000000\n");
  ASSERT_EQ(g.rows.size(), 1u);
  EXPECT_EQ(g.rows[0], (std::vector<std::string>{lane_node_id(0, 0), vma_node_id(0, 0, r / ps),
                                                 gap_node_id(0, 0, r / ps + 2), vma_node_id(0, 0, r / ps + 3)}));
  const node* a = vma(g, 0, 0, r);
  const node* gap = g.find(gap_node_id(0, 0, r / ps + 2));
  const node* b = vma(g, 0, 0, r + 3 * ps);
  ASSERT_TRUE(a && gap && b);
  EXPECT_EQ(a->end, r / ps + 2);
  EXPECT_EQ(gap->text, "gap\n1 page");
  EXPECT_TRUE(has_cell(*a, "0x100000000-0x100002000"));
  EXPECT_TRUE(has_cell(*a, "rw-p"));
  EXPECT_TRUE(has_cell(*b, "r--p"));
  // clear_refs cleared VM_SOFTDIRTY on both (fs/proc/task_mmu.c:clear_refs_write).
  EXPECT_TRUE(has_cell(*a, "no sd"));
  EXPECT_FALSE(has_cell(*a, "VM_SOFTDIRTY"));
  // The store faulted page 0 in soft-dirty; page 1 was never touched.
  EXPECT_EQ(strip_row(*a, 0), (std::vector<std::string>{"D", "."}));
  EXPECT_EQ(strip_row(*a, 1), (std::vector<std::string>{"w", ""}));
  // Left to right: invisible edges chain the row.
  EXPECT_EQ(g.edges_of("order").size(), 3u);
}

TEST(draw_snapshot, long_runs_are_condensed_with_a_count) {
  const graph g = snapshot_of(
      "sdtrace 1\n"
      "mmap 0x100000000 16p rw- private\n"
      "write 0x100000000 10p\n"
      "mmap 0x100020000 4p r-- private\n"
      "read 0x100020000 2p\n");
  const node* big = vma(g, 0, 0, r);
  const node* small = vma(g, 0, 0, r + 0x20 * ps);
  ASSERT_TRUE(big && small);
  // A new mapping is VM_SOFTDIRTY (mm/mmap.c:__mmap_region), so every page reads soft-dirty.
  EXPECT_TRUE(has_cell(*big, "VM_SOFTDIRTY"));
  EXPECT_EQ(strip_row(*big, 0), (std::vector<std::string>{"D x10", "d x6"}));
  EXPECT_EQ(strip_row(*big, 1), (std::vector<std::string>{"nw", "n"}));
  // Runs of up to three pages are drawn page by page.
  EXPECT_EQ(strip_row(*small, 0), (std::vector<std::string>{"D", "D", "d", "d"}));
}

TEST(draw_snapshot, a_lost_new_mapping_stands_out_in_sequence_a) {
  const graph g = snapshot_of(seq_a);
  const node* merged = vma(g, 0, 0, r + ps);
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->end, r / ps + 3);  // a + the moved b: one VMA with a's clean flags
  EXPECT_TRUE(has_cell(*merged, "no sd"));
  EXPECT_EQ(strip_row(*merged, 1), (std::vector<std::string>{"", "LOST"}));
  EXPECT_EQ(strip_cell(*merged, 1, 1).fill, legend_fill(g, "LOST"));
  EXPECT_NE(legend_fill(g, "LOST"), "?");
  EXPECT_NE(g.find(lane_node_id(0, 0))->text.find("LOST 1"), std::string::npos);
  // The source of the move is a hole now.
  const node* hole = g.find(gap_node_id(0, 0, r / ps + 3));
  ASSERT_TRUE(hole);
  EXPECT_EQ(hole->end, r / ps + 4);
}

TEST(draw_snapshot, a_false_positive_stands_out_in_sequence_d) {
  const graph g = snapshot_of(seq_d);
  const node* merged = vma(g, 0, 0, r + ps);
  ASSERT_TRUE(merged);
  EXPECT_TRUE(has_cell(*merged, "VM_SOFTDIRTY"));
  // Page a was written before clear_refs and not since: over-reported. Page a+1 is new.
  EXPECT_EQ(strip_row(*merged, 0), (std::vector<std::string>{"D", "d"}));
  EXPECT_EQ(strip_row(*merged, 1), (std::vector<std::string>{"FP", "n"}));
  EXPECT_EQ(strip_cell(*merged, 1, 0).fill, legend_fill(g, "FP"));
}

TEST(draw_snapshot, a_false_negative_stands_out_in_sequence_b_prime) {
  // A shmem page read-faulted writable while its VMA had VM_SOFTDIRTY, then merged into a
  // clean neighbour: the later store does not fault and bit 55 stays 0 (semantics 2.4).
  const graph g = snapshot_of(
      "sdtrace 1\n"
      "mmap 0x100000000 8p --- private\n"
      "mmap 0x100001000 1p r-- shared file=bp@0 fixed\n"
      "clear_refs\n"
      "mmap 0x100002000 1p rw- shared file=bp@4096 fixed\n"
      "read 0x100002000\n"
      "mprotect 0x100001000 1p rw-\n"
      "write 0x100002000\n");
  const node* merged = vma(g, 0, 0, r + ps);
  ASSERT_TRUE(merged);
  EXPECT_EQ(strip_row(*merged, 1).back(), "FN");
  EXPECT_EQ(strip_cell(*merged, 1, strip_row(*merged, 1).size() - 1).fill, legend_fill(g, "FN"));
  EXPECT_NE(g.find(lane_node_id(0, 0))->text.find("FN 1"), std::string::npos);
}

TEST(draw_snapshot, at_stops_after_that_line) {
  const graph g = snapshot_of(seq_d, {"upstream-6.12"}, 5);  // after clear_refs
  const node* a = vma(g, 0, 0, r + ps);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->end, r / ps + 2);  // not merged yet
  EXPECT_EQ(strip_row(*a, 0), (std::vector<std::string>{"p"}));
  EXPECT_NE(g.title.find("line 5: clear_refs"), std::string::npos);
}

TEST(draw_snapshot, policies_side_by_side_aligned_by_address) {
  const graph g = snapshot_of(seq_a, {"upstream-6.12", "sticky"});
  ASSERT_EQ(g.rows.size(), 2u);
  const node* up = vma(g, 0, 0, r + ps);
  const node* st = vma(g, 0, 1, r + ps);
  ASSERT_TRUE(up && st);
  EXPECT_EQ(up->end, st->end);
  // sticky ORs VM_SOFTDIRTY into every merge (upstream bf14d4a05387): nothing is lost.
  EXPECT_TRUE(has_cell(*up, "no sd"));
  EXPECT_TRUE(has_cell(*st, "VM_SOFTDIRTY"));
  EXPECT_TRUE(has_cell(*up, "LOST"));
  EXPECT_FALSE(has_cell(*st, "LOST"));
  EXPECT_NE(g.find(lane_node_id(0, 1))->text.find("sticky"), std::string::npos);
  // Each node of the second lane hangs under the node of the first that holds its address.
  bool aligned = false;
  for (const edge* e : g.edges_of("align"))
    aligned = aligned || (e->tail == up->id && e->head == st->id && !e->visible());
  EXPECT_TRUE(aligned);
}

TEST(draw_snapshot, the_oracle_drawn_is_the_replays_own_for_every_example_and_design) {
  // The diagram replays through a recorder between kernel and oracle; it must forward every
  // report (moves, in-place growth, zaps), or the colours would disagree with `sdmc replay`.
  int traces = 0;
  for (const auto& f : fs::directory_iterator(fs::path(SDMC_SOURCE_DIR) / "traces" / "examples")) {
    if (f.path().extension() != ".sdt") continue;
    ++traces;
    const loaded_trace lt = load_trace(f.path().string());
    for (const std::string& name : policy_names()) {
      auto pol = make_policy(name);
      replay_options opt;
      opt.expectations_are_failures = opt.results_are_failures = false;
      replayer plain(lt.t, *pol, opt);
      for (const trace::Line& l : lt.t.lines) plain.step(l);
      const judgement want = plain.ghost.judge_sd(plain.k);

      draw_request req;
      req.policies = {name};
      const graph g = draw(lt, req);
      // The lane's label counts the pages of each class in the state the strips were drawn from.
      const std::string lane = g.find(lane_node_id(0, 0))->text;
      const std::string counts = "FN " + std::to_string(boost::icl::length(want.false_negatives)) +
                                 "  LOST " + std::to_string(boost::icl::length(want.lost_new_mappings)) +
                                 "  FP " + std::to_string(boost::icl::length(want.false_positives));
      EXPECT_NE(lane.find(counts), std::string::npos) << f.path().filename() << " " << name << ": " << lane;
      const std::string gaps = "kernel gaps " + std::to_string(boost::icl::length(want.kernel_gaps));
      EXPECT_EQ(lane.find(gaps) != std::string::npos, !want.kernel_gaps.empty())
          << f.path().filename() << " " << name << ": " << lane;
    }
  }
  EXPECT_GT(traces, 20);
}

// --- storyboards --------------------------------------------------------------------------

TEST(draw_storyboard, splits_and_merges_are_edges_from_old_vmas_to_new_ones) {
  const graph g = storyboard_of(
      "sdtrace 1\n"
      "mmap 0x100000000 4p rw- private\n"   // 2
      "mprotect 0x100001000 2p r--\n"       // 3: mm/vma.c:__split_vma twice
      "mprotect 0x100001000 2p rw-\n");     // 4: vma_merge_existing_range, both sides
  ASSERT_EQ(g.clusters.size(), 3u);
  EXPECT_EQ(panel_of(g, 3), 1);
  EXPECT_EQ(g.clusters[1].label.rfind("line 3: mprotect", 0), 0u);
  const node* whole = vma(g, 0, 0, r);
  ASSERT_TRUE(whole);
  const auto parts = g.nodes_of("vma", 1);
  ASSERT_EQ(parts.size(), 3u);
  const auto splits = edges_from(g, whole->id, "split");
  ASSERT_EQ(splits.size(), 3u);
  for (const node* p : parts)
    EXPECT_TRUE(std::any_of(splits.begin(), splits.end(), [&](const edge* e) { return e->head == p->id; }));
  // The middle part lost write permission (and, never faulted, its accounting:
  // mm/mprotect.c:mprotect_fixup drops VM_ACCOUNT of an anonymous VMA without anon_vma).
  for (const edge* e : splits)
    EXPECT_EQ(e->label, e->head == vma_node_id(1, 0, r / ps + 1) ? "split -ac -wr" : "split");
  // One vm_area_struct keeps the id, the other two are new ones (vm_area_dup).
  EXPECT_EQ(std::count_if(parts.begin(), parts.end(), [&](const node* p) { return p->vma_id == whole->vma_id; }), 1);

  const auto merged = g.nodes_of("vma", 2);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0]->start, r / ps);
  EXPECT_EQ(merged[0]->end, r / ps + 4);
  for (const node* p : parts) {
    const auto m = edges_from(g, p->id, "merge");
    ASSERT_EQ(m.size(), 1u) << p->id;
    EXPECT_EQ(m[0]->head, merged[0]->id);
  }
  // A merge keeps the target's vm_area_struct.
  EXPECT_TRUE(std::any_of(parts.begin(), parts.end(), [&](const node* p) { return p->vma_id == merged[0]->vma_id; }));
}

TEST(draw_storyboard, a_move_that_merges_loses_the_flag_on_its_edge) {
  const graph g = storyboard_of(seq_a);
  const int before = panel_of(g, 5), after = panel_of(g, 6);
  ASSERT_EQ(after, before + 1);
  const node* b = vma(g, before, 0, r + 3 * ps);
  const node* a_old = vma(g, before, 0, r + ps);
  const node* merged = vma(g, after, 0, r + ps);
  ASSERT_TRUE(b && a_old && merged);
  EXPECT_TRUE(has_cell(*b, "VM_SOFTDIRTY"));
  const auto moves = edges_from(g, b->id, "move");
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0]->head, merged->id);
  EXPECT_EQ(moves[0]->label, "move -sd");
  const auto merges = edges_from(g, a_old->id, "merge");
  ASSERT_EQ(merges.size(), 1u);
  EXPECT_EQ(merges[0]->head, merged->id);
  // b was new at line 5: nothing leads to it, and it says so.
  EXPECT_TRUE(has_cell(*b, "new"));
  EXPECT_TRUE(std::none_of(g.edges.begin(), g.edges.end(), [&](const edge& e) {
    return e.head == b->id && e.visible() && e.kind != "order";
  }));
}

TEST(draw_storyboard, clear_refs_is_a_changed_edge_dropping_sd) {
  const graph g = storyboard_of(seq_a, 3, 4);
  ASSERT_EQ(g.clusters.size(), 3u);  // the state before line 3, then lines 3 and 4
  EXPECT_EQ(g.clusters[0].label, "before line 3");
  const node* a_new = vma(g, 1, 0, r + ps);
  const node* a_clean = vma(g, 2, 0, r + ps);
  ASSERT_TRUE(a_new && a_clean);
  const auto changed = edges_from(g, a_new->id, "changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0]->head, a_clean->id);
  EXPECT_EQ(changed[0]->label, "-sd");
}

TEST(draw_storyboard, the_first_write_fault_gives_the_vma_an_anon_vma) {
  // mm/memory.c:do_anonymous_page -> vmf_anon_prepare: the VMA changes, its range does not.
  const graph g = storyboard_of(seq_d, 4, 4);
  const node* a = vma(g, 0, 0, r + ps);
  const node* written = vma(g, 1, 0, r + ps);
  ASSERT_TRUE(a && written);
  const auto changed = edges_from(g, a->id, "changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0]->head, written->id);
  EXPECT_EQ(changed[0]->label, "+anon_vma");
  // The untouched neighbours are the same VMAs, drawn as such.
  EXPECT_EQ(edges_from(g, vma_node_id(0, 0, r / ps), "same").size(), 1u);
}

TEST(draw_lineage, a_vma_whose_non_sd_reg_nodes_change_is_changed) {
  vma_box v;
  v.start = 0x100000;
  v.end = 0x100004;
  v.v.vm_flags = VM_READ | VM_WRITE;
  v.v.vma_id = 7;
  lane_state before, after;
  before.vmas = {v};
  v.non_sd_regs = {{0x100000, 0x100004}};
  after.vmas = {v};
  const auto links = lineage(before, after, {});
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].kind, "changed");
  EXPECT_EQ(links[0].label, "+non_sd_reg");
  EXPECT_EQ(lineage(after, after, {})[0].kind, "same");
}

TEST(draw_lineage, flag_change_names_smaps_mnemonics) {
  EXPECT_EQ(flag_change(VM_READ | VM_WRITE | VM_SOFTDIRTY, VM_READ | VM_WRITE), "-sd");
  EXPECT_EQ(flag_change(VM_READ, VM_READ | VM_WRITE | VM_SOFTDIRTY), "+sd +wr");
  EXPECT_EQ(flag_change(VM_READ, VM_READ), "");
}

// --- the granular design's nodes ----------------------------------------------------------

TEST(draw_state, non_sd_reg_nodes_are_drawn_as_sub_ranges_of_their_vma) {
  // Whatever nodes a design keeps in mm.non_sd_regs are shown, clipped to their VMA.
  auto pol = make_policy("upstream-6.12");
  kernel k(*pol, false);
  oracle ghost;
  k.obs = &ghost;
  trace::Mmap m;
  m.addr = r;
  m.len = 8 * ps;
  m.prot = trace::PROT_R | trace::PROT_W;
  ASSERT_EQ(k.sys_mmap(m), ok(r));
  const std::uint32_t id = k.mm.find_vma(r / ps)->v.vma_id;
  k.mm.non_sd_regs[id] = {{r / ps + 1, r / ps + 3}, {r / ps + 6, r / ps + 20}};
  const lane_state lane = capture(k, ghost, "upstream-6.12");
  ASSERT_EQ(lane.vmas.size(), 1u);
  EXPECT_EQ(lane.vmas[0].non_sd_regs,
            (std::vector<non_sd_reg>{{r / ps + 1, r / ps + 3}, {r / ps + 6, r / ps + 8}}));

  panel p;
  p.lanes.push_back(lane);
  const graph g = build("t", {p});
  const node* n = vma(g, 0, 0, r);
  ASSERT_TRUE(n);
  EXPECT_TRUE(has_cell(*n, "non_sd_reg"));
  EXPECT_TRUE(has_cell(*n, "0x100001000-0x100003000"));
  EXPECT_TRUE(has_cell(*n, "0x100006000-0x100008000"));
  // The strip's third row marks the pages inside a node.
  EXPECT_EQ(strip_row(*n, 2), (std::vector<std::string>{"", "nsr", "nsr", "", "", "", "nsr", "nsr"}));
}

// --- rendering ----------------------------------------------------------------------------

struct xml_doc {
  xmlDocPtr doc;
  ~xml_doc() { xmlFreeDoc(doc); }
};

// The text of every <text> element (Graphviz writes '-' as a character reference).
void texts(xmlNodePtr n, std::vector<std::string>& out) {
  for (xmlNodePtr c = n; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (std::string(reinterpret_cast<const char*>(c->name)) == "text") {
      xmlChar* t = xmlNodeGetContent(c);
      out.emplace_back(reinterpret_cast<const char*>(t));
      xmlFree(t);
    }
    texts(c->children, out);
  }
}

void count_classes(xmlNodePtr n, std::map<std::string, int>& out) {
  for (xmlNodePtr c = n; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      if (xmlChar* cls = xmlGetProp(c, BAD_CAST "class")) {
        ++out[reinterpret_cast<const char*>(cls)];
        xmlFree(cls);
      }
      count_classes(c->children, out);
    }
  }
}

double svg_points(xmlNodePtr root, const char* attr) {
  xmlChar* v = xmlGetProp(root, BAD_CAST attr);
  if (!v) return -1;
  const double d = std::stod(reinterpret_cast<const char*>(v));  // "1234pt"
  xmlFree(v);
  return d;
}

TEST(draw_render, svg_parses_and_holds_every_node_cluster_and_visible_edge) {
  const graph g = storyboard_of(seq_a);
  const std::string svg = render(g, format::svg);
  xml_doc d{xmlReadMemory(svg.data(), int(svg.size()), "draw.svg", nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR)};
  ASSERT_NE(d.doc, nullptr);
  xmlNodePtr root = xmlDocGetRootElement(d.doc);
  ASSERT_NE(root, nullptr);
  EXPECT_STREQ(reinterpret_cast<const char*>(root->name), "svg");
  std::map<std::string, int> classes;
  count_classes(root, classes);
  const auto visible = std::count_if(g.edges.begin(), g.edges.end(), [](const edge& e) { return e.visible(); });
  EXPECT_EQ(classes["node"], int(g.nodes.size()));
  EXPECT_EQ(classes["cluster"], int(g.clusters.size()));
  EXPECT_EQ(classes["edge"], int(visible));
  std::vector<std::string> words;
  texts(root, words);
  EXPECT_NE(std::find(words.begin(), words.end(), "move -sd"), words.end());
  EXPECT_NE(std::find(words.begin(), words.end(), "LOST"), words.end());
  EXPECT_GT(svg_points(root, "width"), 0);
}

struct png_read {
  png_image img{};
  ~png_read() { png_image_free(&img); }
};

TEST(draw_render, png_decodes_at_the_size_of_the_svg) {
  const graph g = snapshot_of(seq_d, {"upstream-6.12", "precise"});
  const std::string png = render(g, format::png);
  png_read p;
  p.img.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_memory(&p.img, png.data(), png.size())) << p.img.message;
  p.img.format = PNG_FORMAT_RGBA;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(p.img));
  ASSERT_TRUE(png_image_finish_read(&p.img, nullptr, pixels.data(), 0, nullptr)) << p.img.message;
  EXPECT_GT(p.img.width, 0u);
  EXPECT_GT(p.img.height, 0u);
  // The same layout as SVG, at 96 dpi: points * 96 / 72 pixels.
  const std::string svg = render(g, format::svg);
  xml_doc d{xmlReadMemory(svg.data(), int(svg.size()), "draw.svg", nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR)};
  ASSERT_NE(d.doc, nullptr);
  xmlNodePtr root = xmlDocGetRootElement(d.doc);
  EXPECT_NEAR(double(p.img.width), svg_points(root, "width") * 96 / 72, 3);
  EXPECT_NEAR(double(p.img.height), svg_points(root, "height") * 96 / 72, 3);
  // Not a blank page: the FP cell's orange is in it.
  bool orange = false;
  for (std::size_t i = 0; i + 3 < pixels.size() && !orange; i += 4)
    orange = pixels[i] == 0xff && pixels[i + 1] == 0x8c && pixels[i + 2] == 0x00;
  EXPECT_TRUE(orange);
}

TEST(draw_render, dot_is_the_graph_as_built) {
  const graph g = storyboard_of(seq_d);
  const std::string dot = render(g, format::dot);
  Agraph_t* parsed = agmemread(dot.c_str());
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(agnnodes(parsed), int(g.nodes.size()));
  EXPECT_EQ(agnedges(parsed), int(g.edges.size()));
  agclose(parsed);
}

// --- files and bad input ------------------------------------------------------------------

struct temp_dir {
  fs::path p;
  temp_dir() {
    p = fs::temp_directory_path() / ("sdmc-draw-test-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(p);
  }
  ~temp_dir() { fs::remove_all(p); }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream(p / name) << text;
    return (p / name).string();
  }
};

TEST(draw_files, a_counterexample_gets_a_storyboard_svg_beside_it) {
  temp_dir t;
  const std::string sdt = t.file("diff-kunit-seqA.sdt", seq_a);
  EXPECT_EQ(storyboard_path(sdt), (t.p / "diff-kunit-seqA.svg").string());
  write_storyboard_svg(sdt, "upstream-6.12", storyboard_path(sdt));
  xml_doc d{xmlReadFile(storyboard_path(sdt).c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR)};
  ASSERT_NE(d.doc, nullptr);
  std::map<std::string, int> classes;
  count_classes(xmlDocGetRootElement(d.doc), classes);
  EXPECT_EQ(classes["cluster"], 5);  // one panel per operation of seq_a
  EXPECT_THROW(write_storyboard_svg(sdt, "no-such-design", storyboard_path(sdt)), draw_error);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const draw_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(draw_errors, bad_input_is_a_clear_draw_error) {
  temp_dir t;
  const std::string good = t.file("good.sdt", seq_d);
  const std::string bad = t.file("bad.sdt", "sdtrace 1\nmmap 0x100000000 banana rw- private\n");
  EXPECT_NE(error_of([&] { load_trace((t.p / "missing.sdt").string()); }).find("missing.sdt"), std::string::npos);
  EXPECT_NE(error_of([&] { load_trace(bad); }).find("bad.sdt:2:"), std::string::npos);
  const loaded_trace lt = load_trace(good);
  EXPECT_EQ(lt.lines, 6);
  auto with = [&](draw_request req) { return error_of([&] { draw(lt, req); }); };
  draw_request at;
  at.at = 7;
  EXPECT_NE(with(at).find("--at 7 is outside"), std::string::npos);
  draw_request pol;
  pol.policies = {"upstream-6.12", "nope"};
  EXPECT_NE(with(pol).find("unknown policy 'nope'"), std::string::npos);
  draw_request both;
  both.storyboard = true;
  both.at = 3;
  EXPECT_NE(with(both).find("--storyboard"), std::string::npos);
  draw_request order;
  order.storyboard = true;
  order.from = 5;
  order.to = 3;
  EXPECT_NE(with(order).find("--from 5 is after --to 3"), std::string::npos);
  const graph g = draw(lt, draw_request{});
  EXPECT_NE(error_of([&] { write_picture(g, (t.p / "out.jpg").string()); }).find(".svg, .png or .dot"),
            std::string::npos);
}

// The sdmc program itself: exit status and message.
struct outcome {
  int status;
  std::string output;
};
outcome sdmc(const std::string& args) {
  const std::string cmd = std::string(SDMC_BINARY_DIR) + "/sdmc " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), &pclose);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p.get())) out.append(buf, n);
  const int st = pclose(p.release());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

TEST(draw_cli, exit_2_with_a_message_for_bad_input_and_0_with_a_picture) {
  temp_dir t;
  const std::string good = t.file("good.sdt", seq_d);
  const std::string bad = t.file("bad.sdt", "sdtrace 1\nwrite\n");
  const std::string out = (t.p / "out.svg").string();
  struct { std::string args, message; } cases[] = {
      {(t.p / "missing.sdt").string(), "cannot read"},
      {bad, "bad.sdt:2:"},
      {good + " --at 99", "--at 99 is outside"},
      {good + " --policy nope", "unknown policy 'nope'"},
      {good + " -o " + (t.p / "out.jpg").string(), ".svg, .png or .dot"},
  };
  for (const auto& c : cases) {
    const outcome o = sdmc("draw " + c.args);
    EXPECT_EQ(o.status, 2) << c.args << "\n" << o.output;
    EXPECT_NE(o.output.find("sdmc draw: "), std::string::npos) << o.output;
    EXPECT_NE(o.output.find(c.message), std::string::npos) << c.args << "\n" << o.output;
  }
  const outcome ok = sdmc("draw " + good + " --policy upstream-6.12 --policy sticky --storyboard -o " + out);
  EXPECT_EQ(ok.status, 0) << ok.output;
  xml_doc d{xmlReadFile(out.c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR)};
  EXPECT_NE(d.doc, nullptr);
}

}  // namespace
}  // namespace sdmc::viz

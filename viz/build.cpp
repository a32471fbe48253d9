#include "viz/build.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace sdmc::viz {

namespace {

// --- colours: one table, used by the strip and by the legend --------------------------------
struct swatch {
  const char* fill;
  const char* font;
  bool bold;
  const char* meaning;
};
// pagemap letters (as `sdmc maps` prints them)
const std::map<char, swatch> pagemap_colours = {
    {'D', {"#2f6fb5", "white", true, "present, soft-dirty"}},
    {'p', {"#b9d3ee", "", false, "present, clean"}},
    {'d', {"#e3ecf8", "#2f6fb5", true, "not present, soft-dirty"}},
    {'.', {"#ffffff", "#9e9e9e", false, "not present, clean"}},
    {'S', {"#5a5a5a", "white", true, "swapped, soft-dirty"}},
    {'s', {"#bdbdbd", "", false, "swapped, clean"}},
    {'M', {"#7e57c2", "white", true, "uffd-wp marker, soft-dirty"}},
    {'m', {"#d1c4e9", "", false, "uffd-wp marker, clean"}},
};
// the oracle's words
const std::vector<std::pair<std::string, swatch>> oracle_colours = {
    {"FN", {"#d7191c", "white", true, "false negative: written, bit 55 = 0"}},
    {"LOST", {"#b000b5", "white", true, "lost new mapping: new, bit 55 = 0"}},
    {"FP", {"#ff8c00", "black", true, "false positive: untouched, bit 55 = 1"}},
    {"KG", {"#cfd8dc", "#37474f", true, "kernel-mandated gap: mremap, zapped shmem"}},
    {"w", {"#a6dba0", "", false, "written"}},
    {"n", {"#e6f5d0", "", false, "newly mapped"}},
    {"nw", {"#a6dba0", "", false, "newly mapped and written"}},
    {"", {"#ffffff", "", false, ""}},
};
const swatch nsr_colour{"#fff3b0", "#8a6d00", false, "in a non_sd_reg node"};
constexpr const char* sd_badge_fill = "#ffd400";
constexpr const char* sd_header_fill = "#fff6c2";
constexpr const char* new_vma_colour = "#2e7d32";

const swatch& oracle_swatch(const std::string& w) {
  for (const auto& [word, s] : oracle_colours)
    if (word == w) return s;
  return oracle_colours.back().second;
}

cell coloured(std::string text, const swatch& s, std::string tooltip = "", int min_width = 0) {
  return cell{std::move(text), s.fill, s.font, s.bold, std::move(tooltip), min_width};
}
constexpr int page_width = 18;  // points: a page cell stays visible when its row says nothing

std::string hex(pfn_t pfn) { return fmt::format("{:#x}", pfn_to_addr(pfn)); }
std::string pages(pfn_t n) { return fmt::format("{} page{}", n, n == 1 ? "" : "s"); }
std::string range(pfn_t s, pfn_t e) { return hex(s) + "-" + hex(e); }

std::string describe(const page_state& s) {
  std::vector<std::string> w;
  w.push_back(s.present ? "present" : s.swapped ? "swapped" : s.marker ? "uffd-wp marker" : "not present");
  w.push_back(s.soft_dirty ? "soft-dirty" : "clean");
  if (s.written) w.push_back("written since clear_refs");
  if (s.fresh) w.push_back("newly mapped since clear_refs");
  if (s.in_non_sd_reg) w.push_back("in a non_sd_reg node");
  if (s.false_negative) w.push_back("FALSE NEGATIVE");
  if (s.lost_new_mapping) w.push_back("LOST NEW MAPPING");
  if (s.false_positive) w.push_back("FALSE POSITIVE");
  if (s.kernel_gap) w.push_back("kernel-mandated gap");
  std::string out;
  for (const auto& x : w) out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::string perms(vm_flags_t f) {
  return fmt::format("{}{}{}{}", f & VM_READ ? 'r' : '-', f & VM_WRITE ? 'w' : '-',
                     f & VM_EXEC ? 'x' : '-', f & VM_MAYSHARE ? 's' : 'p');
}

// The smaps mnemonics without "sd", which has its own badge.
std::string other_flags(vm_flags_t f) { return vm_flags_smaps(f & ~VM_SOFTDIRTY); }

std::vector<block> vma_label(const vma_box& v, bool is_new) {
  std::vector<block> out;
  // Header: range, size, the VM_SOFTDIRTY badge.
  block head;
  head.rows.push_back({
      cell{range(v.start, v.end), v.soft_dirty() ? sd_header_fill : "", "", true,
           "vm_start-vm_end"},
      cell{pages(v.end - v.start), v.soft_dirty() ? sd_header_fill : "", "", false, ""},
      v.soft_dirty() ? cell{"VM_SOFTDIRTY", sd_badge_fill, "black", true, "VM_SOFTDIRTY set: every page reads soft-dirty"}
                     : cell{"no sd", "", "#9e9e9e", false, "VM_SOFTDIRTY clear: tracking enabled"},
  });
  if (is_new) head.rows.back().push_back(cell{"new", new_vma_colour, "white", true, "a new vm_area_struct"});
  out.push_back(std::move(head));
  // What the VMA is: perms, backing, identity, the other VmFlags.
  block what;
  what.rows.push_back({cell{perms(v.v.vm_flags), "", "", true, "/proc/PID/maps permissions"},
                       cell{v.backing, "", "", false, ""},
                       cell{fmt::format("vma #{}", v.v.vma_id), "", "#616161", false,
                            "identity of the vm_area_struct"},
                       cell{other_flags(v.v.vm_flags), "", "#424242", false, "VmFlags (smaps)"}});
  out.push_back(std::move(what));
  // The design's non_sd_reg nodes, listed.
  if (!v.non_sd_regs.empty()) {
    block regs;
    std::vector<cell> row{cell{"non_sd_reg", nsr_colour.fill, nsr_colour.font, true, nsr_colour.meaning}};
    for (const non_sd_reg& r : v.non_sd_regs)
      row.push_back(cell{range(r.start, r.end), nsr_colour.fill, "", false, pages(r.end - r.start)});
    regs.rows.push_back(std::move(row));
    out.push_back(std::move(regs));
  }
  // The page strip: one column per page, or per long run with its count.
  block strip;
  std::vector<cell> bits, verdict, nsr;
  auto add = [&](pfn_t s, pfn_t e, const page_state& st) {
    const std::string count = e - s > 1 ? fmt::format(" x{}", e - s) : "";
    const std::string tip = (e - s > 1 ? range(s, e) + " (" + pages(e - s) + ")" : hex(s)) + ": " + describe(st);
    const char letter = pagemap_letter(st);
    bits.push_back(coloured(std::string(1, letter) + count, pagemap_colours.at(letter), tip, page_width));
    const std::string w = oracle_word(st);
    verdict.push_back(coloured(w, oracle_swatch(w), tip, page_width));
    nsr.push_back(st.in_non_sd_reg ? coloured("nsr", nsr_colour, tip, page_width)
                                   : cell{"", "", "", false, tip, page_width});
  };
  for (const page_run& r : v.runs) {
    if (r.end - r.start > condense_above) add(r.start, r.end, r.s);
    else
      for (pfn_t p = r.start; p < r.end; ++p) add(p, p + 1, r.s);
  }
  strip.rows.push_back(std::move(bits));
  strip.rows.push_back(std::move(verdict));
  if (!v.non_sd_regs.empty()) strip.rows.push_back(std::move(nsr));
  out.push_back(std::move(strip));
  return out;
}

struct segment {
  pfn_t start, end;
  const vma_box* vma;  // nullptr for a gap
};

// A lane's row: its VMAs and the gaps between them, over [lo, hi).
std::vector<segment> segments(const lane_state& lane, pfn_t lo, pfn_t hi) {
  std::vector<segment> out;
  pfn_t at = lo;
  for (const vma_box& v : lane.vmas) {
    if (at < v.start) out.push_back({at, v.start, nullptr});
    out.push_back({v.start, v.end, &v});
    at = v.end;
  }
  if (at < hi) out.push_back({at, hi, nullptr});
  return out;
}

std::uint64_t size(const pset& s) { return boost::icl::length(s); }

std::string lane_text(const lane_state& lane) {
  std::string s = fmt::format("{}\nFN {}  LOST {}  FP {}", lane.policy, size(lane.wrong.false_negatives),
                              size(lane.wrong.lost_new_mappings), size(lane.wrong.false_positives));
  if (!lane.wrong.kernel_gaps.empty()) s += fmt::format("\nkernel gaps {}", size(lane.wrong.kernel_gaps));
  return s;
}

void style_link(edge& e) {
  if (e.kind == "same") e.a = {{"color", "#c0c0c0"}, {"style", "dotted"}, {"arrowhead", "none"}, {"weight", "10"}};
  else if (e.kind == "changed") e.a = {{"color", "#616161"}, {"weight", "8"}};
  else if (e.kind == "resized") e.a = {{"color", "#616161"}, {"weight", "4"}};
  else if (e.kind == "split") e.a = {{"color", "#1f77b4"}, {"penwidth", "2"}, {"fontcolor", "#1f77b4"}, {"weight", "2"}};
  else if (e.kind == "merge") e.a = {{"color", "#9c27b0"}, {"penwidth", "2"}, {"fontcolor", "#9c27b0"}, {"weight", "2"}};
  else if (e.kind == "move") e.a = {{"color", "#e65100"}, {"penwidth", "2"}, {"style", "dashed"}, {"fontcolor", "#e65100"}, {"weight", "1"}};
  if (!e.label.empty()) e.a["label"] = e.label;
}

// The legend: the strip's two rows, as swatches with their meaning, one block per line of the
// legend (blocks do not share columns, so each line stays compact).
std::vector<block> legend() {
  auto line = [](const std::string& title, const std::vector<std::pair<std::string, const swatch*>>& items) {
    block b;
    b.cell_border = 0;
    std::vector<cell> row{cell{title, "", "", true, "", 165, true}};
    for (const auto& [text, s] : items) {
      row.push_back(coloured(text, *s, "", 22));
      row.push_back(cell{s->meaning, "", "", false, "", 0});
    }
    b.rows.push_back(std::move(row));
    return b;
  };
  auto pm = [](char c) { return std::make_pair(std::string(1, c), &pagemap_colours.at(c)); };
  auto orc = [](const std::string& w) { return std::make_pair(w, &oracle_swatch(w)); };
  static const swatch count{"#ffffff", "", true, "a run of 6 pages alike"};
  return {line("pagemap (top row)", {pm('D'), pm('p'), pm('d'), pm('.')}),
          line("", {pm('S'), pm('s'), pm('M'), pm('m')}),
          line("oracle (bottom row)", {orc("FN"), orc("LOST"), orc("FP"), orc("KG")}),
          line("since clear_refs", {orc("w"), orc("n"), {"nsr", &nsr_colour}, {"x6", &count}})};
}

}  // namespace

char pagemap_letter(const page_state& s) {
  if (s.present) return s.soft_dirty ? 'D' : 'p';
  if (s.marker) return s.soft_dirty ? 'M' : 'm';
  if (s.swapped) return s.soft_dirty ? 'S' : 's';
  return s.soft_dirty ? 'd' : '.';
}

std::string oracle_word(const page_state& s) {
  if (s.false_negative && s.lost_new_mapping) return "FN";  // the data loss is the worse news
  if (s.false_negative) return "FN";
  if (s.lost_new_mapping) return "LOST";
  if (s.false_positive) return "FP";
  if (s.kernel_gap) return "KG";
  if (s.fresh && s.written) return "nw";
  if (s.fresh) return "n";
  if (s.written) return "w";
  return "";
}

std::string vma_node_id(int panel, int lane, pfn_t start) { return fmt::format("p{}_l{}_vma_{:x}", panel, lane, start); }
std::string gap_node_id(int panel, int lane, pfn_t start) { return fmt::format("p{}_l{}_gap_{:x}", panel, lane, start); }
std::string lane_node_id(int panel, int lane) { return fmt::format("p{}_l{}", panel, lane); }

graph build(const std::string& title, const std::vector<panel>& panels) {
  graph g;
  g.title = title;
  g.legend = legend();
  g.a = {{"rankdir", "TB"}, {"nodesep", "0.25"}, {"ranksep", "0.45"}, {"newrank", "true"},
         {"fontname", "DejaVu Sans"}, {"labelloc", "t"}, {"labeljust", "l"}};

  // One address span for the whole picture, so that every row has the same leading and
  // trailing gaps and rows align by address.
  pfn_t lo = ~pfn_t(0), hi = 0;
  for (const panel& p : panels)
    for (const lane_state& l : p.lanes)
      for (const vma_box& v : l.vmas) {
        lo = std::min(lo, v.start);
        hi = std::max(hi, v.end);
      }
  if (lo > hi) lo = hi = 0;

  std::vector<std::string> prev_row;            // node ids of the row above
  std::vector<segment> prev_segs;
  for (int pi = 0; pi < int(panels.size()); ++pi) {
    const panel& p = panels[pi];
    std::string cl;
    if (!p.caption.empty()) {
      cl = fmt::format("cluster_p{}", pi);
      g.clusters.push_back({cl, "", p.caption,
                            {{"style", "rounded"}, {"color", "#9e9e9e"}, {"labeljust", "l"},
                             {"fontname", "DejaVu Sans Mono"}, {"fontsize", "12"}}});
    }
    for (int li = 0; li < int(p.lanes.size()); ++li) {
      const lane_state& lane = p.lanes[li];
      // Which VMAs of this lane are new (nothing links to them from the panel above).
      std::vector<bool> has_parent(lane.vmas.size(), pi == 0);
      if (li < int(p.links.size()))
        for (const link& l : p.links[li]) has_parent[l.to] = true;

      std::vector<std::string> row;
      node ln;
      ln.id = lane_node_id(pi, li);
      ln.kind = "lane";
      ln.cluster = cl;
      ln.panel = pi;
      ln.lane = li;
      ln.text = lane_text(lane);
      ln.a = {{"shape", "plaintext"}, {"fontname", "DejaVu Sans"}, {"fontsize", "11"}};
      if (!lane.wrong.empty()) ln.a["fontcolor"] = "#d7191c";
      row.push_back(ln.id);
      g.nodes.push_back(std::move(ln));

      const std::vector<segment> segs = segments(lane, lo, hi);
      if (segs.empty()) {
        node n;
        n.id = gap_node_id(pi, li, 0);
        n.kind = "gap";
        n.cluster = cl;
        n.panel = pi;
        n.lane = li;
        n.text = "no VMAs";
        n.a = {{"shape", "box"}, {"style", "dashed,rounded"}, {"color", "#9e9e9e"}, {"fontcolor", "#757575"},
               {"fontname", "DejaVu Sans"}, {"fontsize", "10"}};
        row.push_back(n.id);
        g.nodes.push_back(std::move(n));
      }
      for (const segment& s : segs) {
        node n;
        n.cluster = cl;
        n.panel = pi;
        n.lane = li;
        n.start = s.start;
        n.end = s.end;
        if (s.vma) {
          const std::size_t idx = std::size_t(s.vma - lane.vmas.data());
          n.id = vma_node_id(pi, li, s.start);
          n.kind = "vma";
          n.vma_id = s.vma->v.vma_id;
          n.label = vma_label(*s.vma, !has_parent[idx]);
          n.a = {{"shape", "plaintext"}, {"margin", "0"}, {"fontname", "DejaVu Sans"}, {"fontsize", "10"}};
          if (!has_parent[idx]) n.a["color"] = new_vma_colour;
        } else {
          n.id = gap_node_id(pi, li, s.start);
          n.kind = "gap";
          n.text = "gap\n" + pages(s.end - s.start);
          n.a = {{"shape", "box"}, {"style", "dashed,rounded"}, {"color", "#9e9e9e"},
                 {"fontcolor", "#757575"}, {"fontname", "DejaVu Sans"}, {"fontsize", "10"},
                 {"tooltip", "unmapped " + range(s.start, s.end)}};
        }
        row.push_back(n.id);
        g.nodes.push_back(std::move(n));
      }
      // Left to right inside the row.
      for (std::size_t i = 0; i + 1 < row.size(); ++i)
        g.edges.push_back({row[i], row[i + 1], "order", "", {{"style", "invis"}}});

      // Lineage from the same lane of the previous panel.
      std::vector<std::pair<std::string, std::string>> linked;
      if (pi > 0 && li < int(p.links.size()) && li < int(panels[pi - 1].lanes.size())) {
        const lane_state& before = panels[pi - 1].lanes[li];
        for (const link& l : p.links[li]) {
          edge e{vma_node_id(pi - 1, li, before.vmas[l.from].start),
                 vma_node_id(pi, li, lane.vmas[l.to].start), l.kind, l.label, {}};
          style_link(e);
          linked.emplace_back(e.tail, e.head);
          g.edges.push_back(std::move(e));
        }
      }
      // Alignment with the row above: each node under the node holding its first address.
      if (!prev_row.empty()) {
        g.edges.push_back({prev_row.front(), row.front(), "align", "", {{"style", "invis"}, {"weight", "20"}}});
        for (const segment& s : segs) {
          const std::string head = s.vma ? vma_node_id(pi, li, s.start) : gap_node_id(pi, li, s.start);
          for (std::size_t j = 0; j < prev_segs.size(); ++j) {
            const segment& up = prev_segs[j];
            if (!(up.start <= s.start && s.start < up.end)) continue;
            const std::string tail = prev_row[j + 1];
            if (std::find(linked.begin(), linked.end(), std::make_pair(tail, head)) == linked.end())
              g.edges.push_back({tail, head, "align", "", {{"style", "invis"}, {"weight", "5"}}});
          }
        }
      }
      g.rows.push_back(row);
      prev_row = row;
      prev_segs = segs;
      if (segs.empty()) prev_segs.push_back({0, 0, nullptr});
    }
  }
  return g;
}

}  // namespace sdmc::viz

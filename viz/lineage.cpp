#include "viz/lineage.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace sdmc::viz {

namespace {
std::set<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::set<std::string> out;
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

bool overlap(pfn_t a0, pfn_t a1, pfn_t b0, pfn_t b1) { return std::max(a0, b0) < std::min(a1, b1); }
}  // namespace

std::string flag_change(vm_flags_t before, vm_flags_t after) {
  const auto b = words(vm_flags_smaps(before)), a = words(vm_flags_smaps(after));
  std::string out;
  for (const std::string& w : a)
    if (!b.count(w)) out += (out.empty() ? "+" : " +") + w;
  for (const std::string& w : b)
    if (!a.count(w)) out += (out.empty() ? "-" : " -") + w;
  return out;
}

std::string value_change(const vma_value& b, const vma_value& a) {
  std::string out = flag_change(b.vm_flags, a.vm_flags);
  auto add = [&](const char* w) { out += (out.empty() ? "" : " ") + std::string(w); };
  if (b.anon_vma != a.anon_vma) add(!b.anon_vma ? "+anon_vma" : !a.anon_vma ? "-anon_vma" : "anon_vma");
  // vm_page_prot writable: writes do not fault (semantics 2.4).
  if (b.page_prot_write != a.page_prot_write) add(a.page_prot_write ? "+writable prot" : "-writable prot");
  if (b.file != a.file || b.file_ro != a.file_ro) add("file");
  else if (b.pgoff_delta != a.pgoff_delta) add("pgoff");
  return out;
}

std::vector<link> lineage(const lane_state& before, const lane_state& after, const step_effects& fx) {
  std::vector<link> links;
  auto linked = [&](std::size_t o, std::size_t n) {
    return std::any_of(links.begin(), links.end(), [&](const link& l) { return l.from == o && l.to == n; });
  };
  for (std::size_t o = 0; o < before.vmas.size(); ++o) {
    const vma_box& ov = before.vmas[o];
    for (std::size_t n = 0; n < after.vmas.size(); ++n) {
      const vma_box& nv = after.vmas[n];
      bool kept = ov.v.vma_id == nv.v.vma_id;
      if (!kept && overlap(ov.start, ov.end, nv.start, nv.end)) {
        // Overlapping pages that were not mapped anew stayed in place: nv is a part of ov.
        pset common;
        common += prange(std::max(ov.start, nv.start), std::min(ov.end, nv.end));
        kept = !boost::icl::within(common, fx.mapped_new);
      }
      if (kept) links.push_back({o, n, "", ""});
    }
  }
  // An mremap move: the old VMA's pages inside the source went to the destination.
  if (fx.moved_from) {
    for (std::size_t o = 0; o < before.vmas.size(); ++o) {
      const vma_box& ov = before.vmas[o];
      const pfn_t s = std::max(ov.start, fx.moved_from->lower()), e = std::min(ov.end, fx.moved_from->upper());
      if (s >= e) continue;
      const pfn_t ds = pfn_t(std::int64_t(s) + fx.moved_by), de = pfn_t(std::int64_t(e) + fx.moved_by);
      for (std::size_t n = 0; n < after.vmas.size(); ++n)
        if (overlap(ds, de, after.vmas[n].start, after.vmas[n].end) && !linked(o, n))
          links.push_back({o, n, "move", ""});
    }
  }
  std::vector<int> outs(before.vmas.size()), ins(after.vmas.size());
  for (const link& l : links) {
    ++outs[l.from];
    ++ins[l.to];
  }
  for (link& l : links) {
    const vma_box& ov = before.vmas[l.from];
    const vma_box& nv = after.vmas[l.to];
    std::string words;
    if (!l.kind.empty()) words = l.kind;  // move
    else if (ins[l.to] > 1) l.kind = words = "merge";
    else if (outs[l.from] > 1) l.kind = words = "split";
    else if (ov.start == nv.start && ov.end == nv.end) {
      // A design's per-VMA nodes (granular non_sd_reg) change without the VMA changing.
      if (ov.non_sd_regs != nv.non_sd_regs)
        words = ov.non_sd_regs.empty() ? "+non_sd_reg" : nv.non_sd_regs.empty() ? "-non_sd_reg" : "non_sd_reg";
      l.kind = ov.v == nv.v && words.empty() ? "same" : "changed";
    }
    else {
      l.kind = "resized";
      words = nv.start <= ov.start && nv.end >= ov.end   ? "grow"
              : nv.start >= ov.start && nv.end <= ov.end ? "shrink"
                                                         : "resize";
    }
    const std::string change = value_change(ov.v, nv.v);
    l.label = words.empty() ? change : change.empty() ? words : words + " " + change;
    if (l.kind == "changed" && !words.empty()) l.label = change.empty() ? words : change + " " + words;
  }
  return links;
}

}  // namespace sdmc::viz

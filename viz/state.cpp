#include "viz/state.hpp"

#include <algorithm>

namespace sdmc::viz {

namespace {
bool in(const pset& s, pfn_t p) { return boost::icl::contains(s, p); }

void cut_at(std::vector<pfn_t>& cuts, const pset& s, pfn_t start, pfn_t end) {
  for (const auto& iv : s) {
    if (iv.upper() <= start || iv.lower() >= end) continue;
    cuts.push_back(std::max(start, iv.lower()));
    cuts.push_back(std::min(end, iv.upper()));
  }
}
}  // namespace

lane_state capture(const kernel& k, const oracle& ghost, const std::string& policy) {
  lane_state lane;
  lane.policy = policy;
  lane.wrong = ghost.judge_sd(k);
  for (const vma_ref& v : k.mm.all_vmas()) {
    vma_box box;
    box.start = v.vm_start;
    box.end = v.vm_end;
    box.v = v.v;
    if (!v.v.file) box.backing = "anon";
    else if (k.mm.file(v.v.file).shared_anon) box.backing = "shmem (shared anon)";
    else box.backing = "memfd:" + k.mm.file(v.v.file).name;
    // Whatever nodes the design keeps for this vm_area_struct, clipped to it.
    pset regs;
    if (auto it = k.mm.non_sd_regs.find(v.v.vma_id); it != k.mm.non_sd_regs.end())
      for (const non_sd_reg& r : it->second) {
        const pfn_t s = std::max(r.start, v.vm_start), e = std::min(r.end, v.vm_end);
        if (s < e) {
          box.non_sd_regs.push_back({s, e});
          regs += prange(s, e);
        }
      }

    // The runs are cut at every boundary of every set that decides a page's state, so the
    // cost follows intervals, not pages.
    const pset sd = k.soft_dirty_pages(v.vm_start, v.vm_end);
    std::vector<pfn_t> cuts{v.vm_start, v.vm_end};
    k.mm.for_each_pte(v.vm_start, v.vm_end, [&](pfn_t s, pfn_t e, const pte_t&) {
      cuts.push_back(s);
      cuts.push_back(e);
    });
    for (const pset* s : std::initializer_list<const pset*>{&sd, &ghost.stored_since_clear, &ghost.new_since_clear,
                          &lane.wrong.false_negatives, &lane.wrong.lost_new_mappings,
                          &lane.wrong.false_positives, &lane.wrong.kernel_gaps, &regs})
      cut_at(cuts, *s, v.vm_start, v.vm_end);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      const pfn_t p = cuts[i];
      const pte_t pte = k.mm.pte_at(p);
      page_state s;
      s.present = pte.is_present();
      s.swapped = pte.kind == pte_kind::swap;
      s.marker = pte.kind == pte_kind::marker;
      s.soft_dirty = in(sd, p);
      s.written = in(ghost.stored_since_clear, p);
      s.fresh = in(ghost.new_since_clear, p);
      s.false_negative = in(lane.wrong.false_negatives, p);
      s.lost_new_mapping = in(lane.wrong.lost_new_mappings, p);
      s.false_positive = in(lane.wrong.false_positives, p);
      s.kernel_gap = in(lane.wrong.kernel_gaps, p);
      s.in_non_sd_reg = in(regs, p);
      if (!box.runs.empty() && box.runs.back().s == s) box.runs.back().end = cuts[i + 1];
      else box.runs.push_back({p, cuts[i + 1], s});
    }
    lane.vmas.push_back(std::move(box));
  }
  return lane;
}

}  // namespace sdmc::viz

#include "props/properties.hpp"

#include <fmt/format.h>

#include "sim/invariants.hpp"
#include "sim/replay.hpp"

namespace sdmc::props {

namespace {
std::string pages_text(const pset& s) {
  std::string out;
  for (const auto& iv : s)
    out += fmt::format("{}[{:#x}, {:#x})", out.empty() ? "" : " ", pfn_to_addr(iv.lower()),
                       pfn_to_addr(iv.upper()));
  return out;
}
}  // namespace

std::string_view kind_name(finding::kind k) {
  switch (k) {
    case finding::kind::false_negative: return "false negative";
    case finding::kind::lost_new_mapping: return "lost new mapping";
    case finding::kind::unmapped_dirty: return "unmapped page reads soft-dirty";
    case finding::kind::false_positive: return "false positive";
    case finding::kind::moved_clean: return "moved page reads clean";
    case finding::kind::invariant: return "invariant";
    case finding::kind::written_false_negative: return "PAGE_IS_WRITTEN false negative";
  }
  return "?";
}

bool carries_new_mapping_signal(const policy& pol) { return !pol.emulates_soft_dirty_with_uffd_wp(); }

const char* excused_false_positive(const policy& pol, const trace::Op& op) {
  if (std::holds_alternative<trace::Mlock>(op) || std::holds_alternative<trace::Munlock>(op) ||
      std::holds_alternative<trace::Mprotect>(op))
    return "mm/gup.c:populate_vma_page_range write-faults a locked private writable range";
  if (carries_new_mapping_signal(pol)) return nullptr;
  if (std::holds_alternative<trace::Reclaim>(op))
    return "fs/proc/task_mmu.c:pagemap_page_category: pte_none in a table reads PAGE_IS_WRITTEN";
  if (const auto* m = std::get_if<trace::Mremap>(&op); m && m->dontunmap)
    return "mm/mremap.c:move_ptes leaves pte_none at a MREMAP_DONTUNMAP source, read PAGE_IS_WRITTEN";
  if (const auto* m = std::get_if<trace::Madvise>(&op)) {
    using trace::Advice;
    if (m->advice == Advice::Dontneed || m->advice == Advice::Free ||
        m->advice == Advice::Pageout || m->advice == Advice::Remove)
      return "fs/proc/task_mmu.c:pagemap_page_category: pte_none in a table reads PAGE_IS_WRITTEN";
  }
  return nullptr;
}

std::optional<finding> check_trace(const policy& pol, const trace::Trace& t,
                                   const property_options& opt) {
  replay_options ro;
  ro.expectations_are_failures = ro.results_are_failures = false;
  replayer r(t, pol, ro);
  r.k.mm.bug = opt.bug;
  const bool lost_counts = carries_new_mapping_signal(pol);
  oracle_counts before, before_written;
  pset excused;  // false positives the kernel's rules mandate (excused_false_positive)
  for (std::size_t i = 0; i < t.lines.size(); ++i) {
    // The pages of an mremap's source that hold a present or swap PTE, before it runs.
    const auto* mr = std::get_if<trace::Mremap>(&t.lines[i].op);
    pset moved_ptes;
    pfn_t src = 0;
    if (opt.moves_mark_ptes && mr) {
      src = addr_to_pfn(mr->old_addr);
      const pfn_t n = std::min(addr_to_pfn(page_align(mr->old_len)), addr_to_pfn(page_align(mr->new_len)));
      if (n < PTRS_PER_PTE)  // no whole table can move
        r.k.mm.for_each_pte(src, src + n, [&](pfn_t a, pfn_t b, const pte_t& p) {
          if (p.is_present() || p.kind == pte_kind::swap) moved_ptes += prange(a, b);
        });
    }
    r.step(t.lines[i]);
    using K = finding::kind;
    auto at = [&](K k, std::string what) {
      return finding{i, fmt::format("after operation {} `{}`: {}", i + 1,
                                    trace::format_line(t.lines[i]), what), k};
    };
    if (opt.soundness || opt.unmapped_clean || opt.precision) {
      // A consumer may read pagemap after any operation: judge now, not only at the trace's
      // observation points.
      r.ghost.observe(r.k);
      const oracle_counts& c = r.ghost.sd;
      if (opt.soundness && (c.false_negatives > before.false_negatives ||
                            (lost_counts && c.lost_new_mappings > before.lost_new_mappings))) {
        // The pages are those of the current judgement (judge_sd does not count).
        const judgement j = r.ghost.judge_sd(r.k);
        if (c.false_negatives > before.false_negatives)
          return at(K::false_negative, "false negative (stored to, reads clean) at " + pages_text(j.false_negatives));
        return at(K::lost_new_mapping, "lost new mapping (newly mapped, reads clean) at " +
                  pages_text(j.lost_new_mappings));
      }
      if (opt.soundness && r.ghost.written.false_negatives > before_written.false_negatives)
        return at(K::written_false_negative,
                  "PAGE_IS_WRITTEN false negative (stored to since the uffd-wp reset, reads not "
                  "written) at " + pages_text(r.ghost.judge_written(r.k).false_negatives));
      before_written = r.ghost.written;
      if (opt.unmapped_clean && c.false_positives > before.false_positives) {
        pset outside = r.ghost.judge_sd(r.k).false_positives;
        for (const vma_ref& v : r.k.mm.all_vmas()) outside -= prange(v.vm_start, v.vm_end);
        if (!outside.empty()) return at(K::unmapped_dirty, "unmapped " + pages_text(outside) + " reads soft-dirty");
      }
      if (opt.precision && c.false_positives > before.false_positives) {
        // The oracle counts a page once between two clears; judge_sd lists them all.
        const pset fp = r.ghost.judge_sd(r.k).false_positives - excused;
        if (!fp.empty()) {
          const char* why = excused_false_positive(pol, t.lines[i].op);
          if (!why) return at(K::false_positive, "false positive (neither stored to nor new, reads soft-dirty) at " + pages_text(fp));
          excused += fp;
        }
      }
      if (std::holds_alternative<trace::ClearRefs>(t.lines[i].op)) excused.clear();
      before = c;
    }
    if (!moved_ptes.empty()) {
      const Result& res = r.results.back();
      const bool moved = res.kind == Result::Kind::Value && (res.value != mr->old_addr || mr->dontunmap);
      if (moved) {
        const std::int64_t delta = std::int64_t(addr_to_pfn(res.value)) - std::int64_t(src);
        pset dst;
        for (const auto& iv : moved_ptes)
          dst += prange(pfn_t(std::int64_t(iv.lower()) + delta), pfn_t(std::int64_t(iv.upper()) + delta));
        const pfn_t lo = dst.begin()->lower(), hi = std::prev(dst.end())->upper();
        // Under uffd-wp bit 55 is PAGE_IS_WRITTEN, and with the consumer's EVENT_REMAP a moved
        // PTE keeps its uffd-wp bit (move_ptes clears it only without): there the rule is read
        // on the PTEs themselves.
        pset sd;
        if (pol.emulates_soft_dirty_with_uffd_wp()) r.k.add_pte_soft_dirty(sd, lo, hi);
        else sd = r.k.soft_dirty_pages(lo, hi);
        const pset clean = dst - sd;
        if (!clean.empty())
          return at(K::moved_clean, "moved page(s) " + pages_text(clean) +
                    " read clean at the destination (mm/mremap.c:move_soft_dirty_pte)");
      }
    }
    if (opt.invariants)
      if (auto v = check_invariants(r.k)) return at(K::invariant, *v);
  }
  return std::nullopt;
}

}  // namespace sdmc::props

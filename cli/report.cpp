#include "cli/report.hpp"

#include "viz/draw.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <tuple>
#include <vector>

namespace sdmc::cli {

std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }

std::string maps_line(const kernel& k, const vma_ref& vma) {
  // fs/proc/task_mmu.c:show_map_vma
  const vm_flags_t f = vma.v.vm_flags;
  std::string perms = fmt::format("{}{}{}{}", f & VM_READ ? 'r' : '-', f & VM_WRITE ? 'w' : '-',
                                  f & VM_EXEC ? 'x' : '-', f & VM_MAYSHARE ? 's' : 'p');
  std::string name;
  std::uint64_t offset = 0;
  if (vma.v.file) {
    const memfile& mf = k.mm.file(vma.v.file);
    name = mf.shared_anon ? "/dev/zero (deleted)" : "/memfd:" + mf.name + " (deleted)";
    offset = pfn_to_addr(vma.vm_pgoff());
  }
  if (k.mm.start_brk && pfn_to_addr(vma.vm_start) >= *k.mm.start_brk &&
      pfn_to_addr(vma.vm_end) <= page_align(*k.mm.brk) && !vma.v.file)
    name = "[heap]";
  return fmt::format("{:08x}-{:08x} {} {:08x} 00:00 0 {}", pfn_to_addr(vma.vm_start),
                     pfn_to_addr(vma.vm_end), perms, offset, name);
}

namespace {
// Calls f(s, e, entry) for runs of [start,end) whose pagemap entry is the same on every page.
// The runs are cut at every boundary of a PTE run, a soft-dirty interval, a VMA and a page
// table, so the cost follows intervals, not pages.
template <class F>
void for_each_uniform_run(const kernel& k, pfn_t start, pfn_t end, F&& f) {
  if (start >= end) return;
  std::vector<pfn_t> cuts{start, end};
  auto cut = [&](pfn_t p) { if (p > start && p < end) cuts.push_back(p); };
  k.mm.for_each_pte(start, end, [&](pfn_t s, pfn_t e, const pte_t&) { cut(s); cut(e); });
  for (const auto& iv : k.soft_dirty_pages(start, end)) { cut(iv.lower()); cut(iv.upper()); }
  for (const vma_ref& v : k.mm.vmas_in(start, end)) { cut(v.vm_start); cut(v.vm_end); }
  k.mm.for_each_table_run(start, end, [&](pfn_t s, pfn_t e, bool) { cut(s); cut(e); });
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) f(cuts[i], cuts[i + 1], k.pagemap(cuts[i]));
}
}  // namespace

std::string page_strip(const kernel& k, pfn_t start, pfn_t end) {
  std::string out;
  char last = 0;
  std::uint64_t run = 0;
  auto flush = [&] {
    if (run > 8) out += fmt::format("{}{{{}}}", last, run);
    else out += std::string(run, last);
  };
  for_each_uniform_run(k, start, end, [&](pfn_t s, pfn_t e, const pagemap_entry& b) {
    const bool marker = k.mm.pte_at(s).kind == pte_kind::marker;
    char c = b.present ? (b.soft_dirty ? 'D' : 'p')
             : marker  ? (b.soft_dirty ? 'M' : 'm')
             : b.swapped ? (b.soft_dirty ? 'S' : 's')
                         : (b.soft_dirty ? 'd' : '.');
    if (c != last) {
      flush();
      last = c;
      run = 0;
    }
    run += e - s;
  });
  flush();
  return out;
}

nlohmann::json vmas_json(const kernel& k) {
  nlohmann::json arr = nlohmann::json::array();
  for (const vma_ref& v : k.mm.all_vmas()) {
    arr.push_back({{"start", hex(pfn_to_addr(v.vm_start))},
                   {"end", hex(pfn_to_addr(v.vm_end))},
                   {"flags", vm_flags_smaps(v.v.vm_flags)},
                   {"maps", maps_line(k, v)}});
  }
  return arr;
}

nlohmann::json pages_json(const kernel& k, const pset& pages) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& iv : pages) {
    std::optional<std::tuple<pfn_t, pfn_t, pagemap_entry>> cur;
    auto emit = [&] {
      auto [s, e, b] = *cur;
      arr.push_back({{"addr", hex(pfn_to_addr(s))}, {"pages", e - s},
                     {"sd", int(b.soft_dirty)}, {"exclusive", int(b.exclusive)},
                     {"uffd_wp", int(b.uffd_wp)}, {"file", int(b.file)},
                     {"swapped", int(b.swapped)}, {"present", int(b.present)},
                     {"written", int(b.written)}});
    };
    // Adjacent runs with equal bits are joined; exclusivity of file pages varies per page.
    for_each_uniform_run(k, iv.lower(), iv.upper(), [&](pfn_t s, pfn_t e, const pagemap_entry&) {
      for (pfn_t p = s; p < e;) {
        pagemap_entry b = k.pagemap(p);
        pfn_t q = b.file ? p + 1 : e;  // bit 56 of a file page depends on its own mapcount
        if (cur && std::get<1>(*cur) == p && std::get<2>(*cur) == b) std::get<1>(*cur) = q;
        else {
          if (cur) emit();
          cur.emplace(p, q, b);
        }
        p = q;
      }
    });
    if (cur) emit();
  }
  return arr;
}

nlohmann::json counts_json(const oracle_counts& c) {
  return {{"false_negatives", c.false_negatives},
          {"lost_new_mappings", c.lost_new_mappings},
          {"false_positives", c.false_positives},
          {"kernel_gaps", c.kernel_gaps}};
}

void storyboard_beside(const std::string& counterexample, std::string_view policy, const char* cmd) {
  const std::string svg = viz::storyboard_path(counterexample);
  try {
    viz::write_storyboard_svg(counterexample, policy, svg);
    fmt::print("  storyboard: {}\n", svg);
  } catch (const viz::draw_error& e) {
    fmt::print(stderr, "sdmc {}: no storyboard for {}: {}\n", cmd, counterexample, e.what());
  }
}

std::optional<std::vector<std::unique_ptr<policy>>> policies_named(std::vector<std::string>& names,
                                                                   const char* cmd) {
  if (names.empty()) names = policy_names();
  std::vector<std::unique_ptr<policy>> pols;
  for (const std::string& n : names) {
    pols.push_back(make_policy(n));
    if (!pols.back()) {
      fmt::print(stderr, "sdmc {}: unknown policy '{}' (known: {})\n", cmd, n, fmt::join(policy_names(), ", "));
      return std::nullopt;
    }
  }
  return pols;
}

}  // namespace sdmc::cli

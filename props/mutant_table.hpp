// The mutants the property campaign must find (model/mutant.hpp), each with the design it is
// checked under and the operations its bug needs drawn more often. Shared by the mutant tests
// (props/mutant_prop.cpp) and the time-to-counterexample benchmark (bench/).
#pragma once

#include <array>
#include <string_view>

#include "props/campaign.hpp"

namespace sdmc::props {

struct mutant_case {
  mutant m;
  std::string_view policy;  // a sound design, so that only the mutant can fail the property
  trace_gen_options gen;
};

// The campaign every mutant runs: soundness (bit 55's and PAGE_IS_WRITTEN's), and nothing read
// soft-dirty outside a VMA, after every operation (props/properties.hpp). All show in a
// replay's oracle counts.
inline property_options mutant_property(mutant m) {
  property_options o;
  o.bug = m;
  o.unmapped_clean = true;
  return o;
}

// The fixed budget: RapidCheck's seed and number of cases (a case takes about 25 us).
inline constexpr std::uint64_t mutant_seed = 1;
inline constexpr int mutant_cases = 20000;

inline std::array<mutant_case, 8> mutant_cases_table() {
  auto with = [](auto tweak) {
    trace_gen_options g;
    tweak(g);
    return g;
  };
  return {{
      {mutant::new_vma_not_soft_dirty, "sticky", {}},
      {mutant::pte_hole_ignores_vma, "sticky", {}},
      {mutant::gap_uses_next_vma_flag, "sticky", {}},
      {mutant::no_writenotify_after_clear, "sticky", with([](trace_gen_options& g) {
         g.weights.mmap_shared = g.weights.mmap_memfd = 6;  // shared-writable shmem
         g.weights.read = 8;                                // a read fault maps it writable
       })},
      {mutant::can_change_pte_writable_inverted, "sticky", with([](trace_gen_options& g) {
         // private anonymous memory, written, cleared, made writable by mprotect, written
         g.weights = line_weights{.mmap = 6, .mmap_shared = 0, .mmap_memfd = 0,
                                  .mmap_droppable = 0, .munmap = 1, .mprotect = 12, .mremap = 0,
                                  .madvise = 1, .mlock = 0, .write = 12, .read = 2,
                                  .clear_refs = 5, .fork = 0, .reclaim = 0, .uffd_wp = 0};
         g.max_ops = 12;
         g.pages = 2;  // every operation lands on the same pages
       })},
      {mutant::swap_loses_soft_dirty, "sticky", with([](trace_gen_options& g) {
         g.swap = trace_gen_options::swap_mode::on;
         g.weights.reclaim = 6;
       })},
      {mutant::mremap_move_not_soft_dirty, "sticky", with([](trace_gen_options& g) {
         // a written page moved elsewhere after a clear_refs
         g.weights = line_weights{.mmap = 6, .mmap_shared = 2, .mmap_memfd = 0,
                                  .mmap_droppable = 0, .munmap = 1, .mprotect = 1, .mremap = 12,
                                  .madvise = 1, .mlock = 0, .write = 12, .read = 2,
                                  .clear_refs = 5, .fork = 0, .reclaim = 0, .uffd_wp = 0};
         g.max_ops = 12;
         g.max_len = 2;
       })},
      {mutant::scan_zapped_pte_not_written, "sticky", with([](trace_gen_options& g) {
         // a page registered for uffd-wp, written, then zapped (B17's own sequence)
         g.weights.uffd_wp = 6;
         g.weights.madvise = 8;
       })},
  }};
}

// The campaign kills the mutant with a trace that fails the property with the mutant and
// passes it without: whatever the unmutated model gets wrong (the soundness tests' business)
// is not mistaken for the mutant, and shrinking keeps both halves.
inline campaign_result run_mutant_campaign(const mutant_case& c, const policy& pol,
                                           campaign_options opt) {
  opt.gen = c.gen;
  const property_options with = mutant_property(c.m), without = mutant_property(mutant::none);
  return run_campaign(
      [&](const trace::Trace& t) -> std::optional<finding> {
        auto f = check_trace(pol, t, with);
        if (f && check_trace(pol, t, without)) return std::nullopt;
        return f;
      },
      opt);
}

}  // namespace sdmc::props

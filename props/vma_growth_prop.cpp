// VMA growth on the alternating patterns from the review of the non_sd_reg RFC and of
// Hildenbrand's proposal: [clean][dirty][clean]... over N pages. precise keeps VM_SOFTDIRTY
// apart, so it pays one VMA per run of equal state until the next clear_refs; upstream-6.12
// and sticky ignore the flag for merging and stay at one VMA (at the price of false positives
// or lost flags); granular keeps the VMA and pays in non_sd_reg nodes instead.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "props/policy_list.hpp"
#include "props/trace_gen.hpp"
#include "sim/generator.hpp"
#include "sim/replay.hpp"

namespace sdmc::props {
namespace {

constexpr std::uint64_t G = 0x100000000, PS = 4096;

struct growth {
  std::size_t vmas = 0;   // VMAs intersecting the region
  std::size_t nodes = 0;  // non_sd_reg nodes (granular designs)
  oracle_counts counts;
};

// A guard page, an N-page region at G+1p and a guard page after it, then `body`.
growth run_pattern(const std::string& policy, unsigned n, const std::string& body) {
  std::string text = fmt::format("sdtrace 1\nmmap {:#x} {}p --- private\n", G, n + 3);
  text += body;
  const trace::Trace t = trace::parse(text, "pattern.sdt");
  auto pol = make_policy(policy);
  replayer r(t, *pol);
  for (const trace::Line& l : t.lines) r.step(l);
  r.finish();
  growth g;
  const pfn_t a = addr_to_pfn(G + PS);
  // The region, and the page after it when the pattern maps it.
  const auto next = r.k.mm.find_vma(a + n);
  const bool after = next && (next->v.vm_flags & VM_ACCESS_FLAGS);  // not the PROT_NONE guard
  g.vmas = r.k.mm.vmas_in(a, a + n + (after ? 1 : 0)).size();
  for (const auto& [id, list] : r.k.mm.non_sd_regs) g.nodes += list.size();
  g.counts = r.ghost.sd;
  return g;
}

// The region: one mmap, written, cleared.
std::string region(unsigned n) {
  return fmt::format("mmap {0:#x} {1}p rw- private fixed\nwrite {0:#x} {1}p\nclear_refs\n", G + PS, n);
}

// Pattern "remap": every other page replaced by a new mapping (MAP_FIXED), so
// [dirty][clean][dirty]...: the worst case for precise.
std::string remap_every_other(unsigned n) {
  std::string s = region(n);
  for (unsigned i = 0; i < n; i += 2) s += fmt::format("mmap {:#x} 1p rw- private fixed\n", G + PS + i * PS);
  return s;
}

// Pattern "mprotect": every other page written and round-tripped through PROT_READ (splits,
// then merges back), then another mmap right after the region.
std::string mprotect_every_other(unsigned n) {
  std::string s = region(n);
  for (unsigned i = 0; i < n; i += 2) {
    const std::uint64_t a = G + PS + i * PS;
    s += fmt::format("write {0:#x}\nmprotect {0:#x} 1p r--\nmprotect {0:#x} 1p rw-\n", a);
  }
  s += fmt::format("mmap {:#x} 1p rw- private fixed\n", G + PS + n * PS);
  return s;
}

std::vector<std::string> policies() { return policy_names(); }

std::size_t vmas_of(const std::string& policy, unsigned n, std::string (*pattern)(unsigned)) {
  return run_pattern(policy, n, pattern(n)).vmas;
}

TEST(vma_growth, remap_every_other_page_precise_pays_one_vma_per_page) {
  for (unsigned n : {8u, 64u, 256u}) {
    // Only precise splits on VM_SOFTDIRTY: N alternating runs, N VMAs (the bound, reached).
    EXPECT_EQ(vmas_of("precise", n, remap_every_other), n) << n;
    // upstream-6.12 and sticky merge every new page back (VM_SOFTDIRTY is ignored).
    EXPECT_EQ(vmas_of("upstream-6.12", n, remap_every_other), 1u) << n;
    EXPECT_EQ(vmas_of("sticky", n, remap_every_other), 1u) << n;
    for (const std::string& g : present_policies({"granular", "granular-coalesce"}))
      EXPECT_EQ(vmas_of(g, n, remap_every_other), 1u) << g << " " << n;
  }
}

TEST(vma_growth, mprotect_round_trips_merge_back_and_the_next_mmap_splits_precise_once) {
  for (unsigned n : {8u, 64u, 256u}) {
    // Equal flags after each round trip: every design merges back to one VMA; the mmap after
    // the region is new (VM_SOFTDIRTY) and joins the clean region except under precise.
    EXPECT_EQ(vmas_of("precise", n, mprotect_every_other), 2u) << n;
    EXPECT_EQ(vmas_of("upstream-6.12", n, mprotect_every_other), 1u) << n;
    EXPECT_EQ(vmas_of("sticky", n, mprotect_every_other), 1u) << n;
  }
}

TEST(vma_growth, report) {
  // The table for docs/performance.md: VMAs of each pattern per policy and their ratio to
  // upstream-6.12, granular's nodes, and over random traces the largest VMA count.
  std::cout << fmt::format("{:<22} {:>5} {:<18} {:>6} {:>7} {:>6} {:>6}\n", "pattern", "N",
                           "policy", "VMAs", "ratio", "nodes", "FP");
  using pattern_fn = std::string (*)(unsigned);
  const std::pair<const char*, pattern_fn> patterns[] = {
      {"remap-every-other", remap_every_other}, {"mprotect-every-other", mprotect_every_other}};
  for (auto [name, pattern] : patterns)
    for (unsigned n : {8u, 64u, 256u}) {
      const std::size_t base = vmas_of(baseline_policy, n, pattern);
      for (const std::string& p : policies()) {
        const growth g = run_pattern(p, n, pattern(n));
        // Every VMA holds at least one page of the region or the page after it.
        EXPECT_LE(g.vmas, n + 1) << p;
        std::cout << fmt::format("{:<22} {:>5} {:<18} {:>6} {:>7.2f} {:>6} {:>6}\n", name, n, p,
                                 g.vmas, double(g.vmas) / double(base), g.nodes,
                                 g.counts.false_positives);
      }
    }
  // Random traces of the benchmark mix in a 64-page window: the largest VMA count seen.
  generator_options o;
  o.pages = 64;
  o.ops = 400;
  for (const std::string& p : policies()) {
    std::size_t worst = 0, worst_base = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      o.seed = seed;
      const trace::Trace t = generate_trace(o);
      auto pol = make_policy(p), base = make_policy(baseline_policy);
      replayer r(t, *pol), rb(t, *base);
      for (const trace::Line& l : t.lines) {
        r.step(l);
        rb.step(l);
        worst = std::max(worst, r.k.mm.map_count());
        worst_base = std::max(worst_base, rb.k.mm.map_count());
      }
    }
    std::cout << fmt::format("random (20 x 400 ops, 64 pages): {:<18} max VMAs {:>4} ({:.2f} x upstream)\n",
                             p, worst, double(worst) / double(worst_base));
  }
}

}  // namespace
}  // namespace sdmc::props

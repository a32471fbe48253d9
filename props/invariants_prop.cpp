// check_invariants itself: each invariant holds on states the model builds, and reports the
// state that breaks it (made by hand, or by a mutant of the catalogue).
#include <gtest/gtest.h>

#include "sim/invariants.hpp"
#include "sim/replay.hpp"

namespace sdmc {
namespace {

constexpr std::uint64_t A = 0x100000000;
const pfn_t PA = addr_to_pfn(A);

// Replays `text` (the lines after `sdtrace 1`) under `policy`, with `bug` switched in.
struct run {
  std::unique_ptr<policy> pol;
  trace::Trace t;
  std::unique_ptr<replayer> r;
  run(const std::string& policy, const std::string& text, mutant bug = mutant::none)
      : pol(make_policy(policy)), t(trace::parse("sdtrace 1\n" + text, "inline.sdt")) {
    replay_options o;
    o.expectations_are_failures = o.results_are_failures = false;
    r = std::make_unique<replayer>(t, *pol, o);
    r->k.mm.bug = bug;
    for (const trace::Line& l : t.lines) r->step(l);
  }
  kernel& k() { return r->k; }
};

std::string violation(const kernel& k) { return check_invariants(k).value_or(""); }

const char* layout =
    "mmap 0x100000000 8p rw- private\nwrite 0x100000000 8p\nclear_refs\n"
    "mprotect 0x100002000 2p r--\nmmap 0x100005000 2p rw- shared fixed\nread 0x100005000\n"
    "write 0x100006000\nmmap 0x100009000 1p rw- private\n";

TEST(check_invariants, hold_on_layouts_the_model_builds) {
  for (const char* p : {"upstream-6.12", "sticky", "precise"}) {
    run s(p, layout);
    EXPECT_EQ(violation(s.k()), "") << p;
  }
}

TEST(check_invariants, a_writable_clean_pte_of_a_page_reported_clean_breaks_write_tracking) {
  run s("sticky", "mmap 0x100000000 2p rw- private\nwrite 0x100000000 2p\nclear_refs\n");
  ASSERT_EQ(violation(s.k()), "");
  pte_t p = s.k().mm.pte_at(PA);
  p.write = true;  // what a merge that drops VM_SOFTDIRTY leaves behind (semantics 2.4)
  s.k().mm.set_ptes(PA, PA + 1, p);
  EXPECT_NE(violation(s.k()).find("write tracking: [0x100000000, 0x100001000) reads clean"),
            std::string::npos) << violation(s.k());
}

TEST(check_invariants, upstream_does_not_promise_write_tracking) {
  run s("upstream-6.12", "mmap 0x100000000 2p rw- private\nwrite 0x100000000 2p\nclear_refs\n");
  pte_t p = s.k().mm.pte_at(PA);
  p.write = true;
  s.k().mm.set_ptes(PA, PA + 1, p);
  EXPECT_EQ(violation(s.k()), "");
}

TEST(check_invariants, no_writenotify_after_clear_leaves_a_tracked_shared_vma_writable) {
  const char* t = "mmap 0x100000000 1p rw- shared\nclear_refs\n";
  EXPECT_EQ(violation(run("sticky", t).k()), "");
  run s("sticky", t, mutant::no_writenotify_after_clear);
  EXPECT_NE(violation(s.k()).find("vm_page_prot is writable"), std::string::npos) << violation(s.k());
}

TEST(check_invariants, gap_uses_next_vma_flag_makes_an_unmapped_page_read_soft_dirty) {
  const char* t = "mmap 0x100000000 1p rw- private\nmmap 0x100002000 1p rw- private\n";
  EXPECT_EQ(violation(run("sticky", t).k()), "");
  run s("sticky", t, mutant::gap_uses_next_vma_flag);
  // Every hole takes find_vma(addr)'s flag, the one below the first VMA too.
  EXPECT_EQ(violation(s.k()),
            "pagemap: unmapped [0x0, 0x100000000) reads soft-dirty "
            "(fs/proc/task_mmu.c:pagemap_pte_hole reports gaps clean)");
  EXPECT_TRUE(s.k().pagemap(PA + 1).soft_dirty);
}

TEST(check_invariants, a_pte_outside_every_vma) {
  run s("sticky", "mmap 0x100000000 1p rw- private\nwrite 0x100000000\n");
  s.k().mm.set_ptes(PA + 1, PA + 2, s.k().mm.pte_at(PA));
  EXPECT_NE(violation(s.k()).find("pte: PTEs outside every VMA at [0x100001000, 0x100002000)"),
            std::string::npos) << violation(s.k());
}

TEST(check_invariants, non_sd_reg_lists) {
  run s("sticky", "mmap 0x100000000 4p rw- private\n");
  const std::uint32_t id = s.k().mm.find_vma(PA)->v.vma_id;
  auto& lists = s.k().mm.non_sd_regs;
  lists[id] = {{PA, PA + 1}, {PA + 2, PA + 4}};
  EXPECT_EQ(violation(s.k()), "");
  lists[id] = {{PA + 2, PA + 4}, {PA, PA + 1}};
  EXPECT_NE(violation(s.k()).find("unsorted or overlapping"), std::string::npos);
  lists[id] = {{PA, PA}};
  EXPECT_NE(violation(s.k()).find("empty"), std::string::npos);
  lists[id] = {{PA + 3, PA + 5}};
  EXPECT_NE(violation(s.k()).find("outside its VMA"), std::string::npos);
  lists.clear();
  lists[id + 100] = {{PA, PA + 1}};
  EXPECT_NE(violation(s.k()).find("which no VMA has"), std::string::npos);
}

}  // namespace
}  // namespace sdmc

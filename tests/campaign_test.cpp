// sim/campaign.hpp: the delta debugging `sdmc check` shrinks its counterexamples with, and the
// campaign's cases.
#include <gtest/gtest.h>

#include <algorithm>

#include "sim/campaign.hpp"
#include "traces/sdtrace.hpp"

namespace sdmc {
namespace {

bool has(const trace::Trace& t, auto pred) { return std::any_of(t.lines.begin(), t.lines.end(), pred); }

TEST(shrink, keeps_only_the_lines_the_failure_needs_in_their_order) {
  const trace::Trace t = trace::parse(
      "sdtrace 1\n"
      "mmap 0x100000000 4p rw- private fixed\n"
      "write 0x100000000 1p\n"
      "read 0x100001000 1p\n"
      "clear_refs\n"
      "mprotect 0x100002000 1p r--\n"
      "write 0x100003000 1p\n"
      "munmap 0x100003000 1p\n",
      "shrink");
  // "Fails" while a clear_refs comes after the first write: two lines are needed.
  auto fails = [](const trace::Trace& c) {
    auto w = std::find_if(c.lines.begin(), c.lines.end(),
                          [](const trace::Line& l) { return std::holds_alternative<trace::Write>(l.op); });
    return w != c.lines.end() &&
           std::any_of(w, c.lines.end(), [](const trace::Line& l) { return std::holds_alternative<trace::ClearRefs>(l.op); });
  };
  ASSERT_TRUE(fails(t));
  const trace::Trace s = shrink(t, fails);
  ASSERT_EQ(s.lines.size(), 2u) << trace::write(s);
  EXPECT_TRUE(std::holds_alternative<trace::Write>(s.lines[0].op));
  EXPECT_TRUE(std::holds_alternative<trace::ClearRefs>(s.lines[1].op));
  EXPECT_EQ(s.lines[0].lineno, 1);
  EXPECT_EQ(s.lines[1].lineno, 2);
  EXPECT_TRUE(fails(s));
}

TEST(shrink, is_deterministic_and_never_empties_the_trace) {
  const trace::Trace t = generate_trace(campaign_case(7));
  auto fails = [](const trace::Trace& c) {
    return has(c, [](const trace::Line& l) { return std::holds_alternative<trace::Mmap>(l.op); });
  };
  ASSERT_TRUE(fails(t));
  const trace::Trace a = shrink(t, fails), b = shrink(t, fails);
  EXPECT_EQ(a.lines, b.lines);
  EXPECT_EQ(a.lines.size(), 1u);
}

}  // namespace
}  // namespace sdmc

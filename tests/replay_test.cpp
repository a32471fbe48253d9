// Replay of sdtrace files (shared/trace-format.md, sim/replay.hpp): every hand-derived example in
// traces/examples replays under the upstream-6.12 policy without a failure; a wrong `expect` or
// a wrong `= RESULT` is a failure that names its line; on a trace recorded on another kernel
// (`kernel 6.18.1`) a differing result is a difference, not a failure.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

namespace fs = std::filesystem;

struct replayed {
  std::vector<check_failure> failures, differences;
  std::vector<Result> results;
};

replayed replay_text(const std::string& text) {
  auto pol = make_policy("upstream-6.12");
  trace::Trace t = trace::parse(text, "t.sdt");
  replayer r(t, *pol);
  for (const trace::Line& l : t.lines) r.step(l);
  r.finish();
  return {r.failures, r.differences, r.results};
}

std::string describe(const std::vector<check_failure>& fs) {
  std::string out;
  for (const check_failure& f : fs)
    out += "  line " + std::to_string(f.line) + " `" + f.op + "`: expected " + f.expected +
           ", computed " + f.computed + "\n";
  return out;
}

// --- every example ------------------------------------------------------------------------

std::vector<std::string> example_traces() {
  std::vector<std::string> out;
  const fs::path dir = fs::path(SDMC_SOURCE_DIR) / "traces" / "examples";
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".sdt") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

class example_trace : public ::testing::TestWithParam<std::string> {};

TEST_P(example_trace, replays_without_failure_under_upstream_612) {
  const std::string path = GetParam();
  trace::Trace t;
  ASSERT_NO_THROW(t = trace::parse_file(path)) << path;
  auto pol = make_policy("upstream-6.12");
  ASSERT_TRUE(pol);
  replayer r(t, *pol);
  for (const trace::Line& l : t.lines) r.step(l);
  r.finish();
  EXPECT_TRUE(r.failures.empty()) << path << ":\n" << describe(r.failures);
  EXPECT_EQ(r.results.size(), t.lines.size());
}

std::string trace_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = fs::path(info.param).stem().string();
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(examples, example_trace, ::testing::ValuesIn(example_traces()),
                         trace_name);

TEST(replay, the_examples_directory_is_not_empty) {
  EXPECT_GE(example_traces().size(), 30u);
}

// --- failures name their line -----------------------------------------------------------

TEST(replay, a_wrong_expect_fails_naming_its_line_and_the_replay_goes_on) {
  // A fresh mapping reads sd 1 (__mmap_region:1572); line 4 claims 0.
  const replayed r = replay_text(
      "sdtrace 1\n"                                           // 1
      "mmap 0x100000000 4p --- private = 0x100000000\n"       // 2
      "mmap 0x100001000 2p rw- private fixed = 0x100001000\n" // 3
      "expect sd 0x100001000 2p 10\n"                         // 4  wrong: 11
      "write 0x100001000 = 0\n"                               // 5
      "expect present 0x100001000 2p 10\n"                    // 6  right
      "expect vmas 0x100000000 4p 2\n");                      // 7  wrong: 3
  ASSERT_EQ(r.failures.size(), 2u) << describe(r.failures);
  EXPECT_EQ(r.failures[0].line, 4);
  EXPECT_EQ(r.failures[0].expected, "10");
  EXPECT_EQ(r.failures[0].computed, "11");
  EXPECT_NE(r.failures[0].op.find("expect sd"), std::string::npos);
  EXPECT_EQ(r.failures[1].line, 7);
  EXPECT_EQ(r.failures[1].expected, "2");
  EXPECT_EQ(r.failures[1].computed, "3");
  EXPECT_TRUE(r.differences.empty());
}

TEST(replay, a_wrong_result_fails_naming_its_line) {
  const replayed r = replay_text(
      "sdtrace 1\n"                                           // 1
      "mmap 0x100000000 4p --- private = 0x100000000\n"       // 2
      "mmap 0x100001000 1p rw- private = -EINVAL\n"           // 3  wrong: -EEXIST
      "write 0x100000000 = 0\n"                               // 4  wrong: SIGSEGV (PROT_NONE)
      "munmap 0x100001000 1p = 0\n");                         // 5  right
  ASSERT_EQ(r.failures.size(), 2u) << describe(r.failures);
  EXPECT_EQ(r.failures[0].line, 3);
  EXPECT_EQ(r.failures[0].expected, "-EINVAL");
  EXPECT_EQ(r.failures[0].computed, "-EEXIST");
  EXPECT_EQ(r.failures[1].line, 4);
  EXPECT_EQ(r.failures[1].expected, "0");
  EXPECT_EQ(r.failures[1].computed, "SIGSEGV");
  ASSERT_EQ(r.results.size(), 4u);
  EXPECT_EQ(r.results[3], ok(0));
}

TEST(replay, a_move_without_its_destination_fails_naming_its_line) {
  // "A move without `fixed` goes to the address in its `= ADDR` result, which is then required."
  const replayed r = replay_text(
      "sdtrace 1\n"
      "mmap 0x100000000 4p --- private = 0x100000000\n"
      "mmap 0x100001000 1p rw- private fixed = 0x100001000\n"
      "mremap 0x100001000 1p 2p maymove\n");                  // 4: the kernel must move
  ASSERT_EQ(r.failures.size(), 1u) << describe(r.failures);
  EXPECT_EQ(r.failures[0].line, 4);
}

TEST(replay, a_failing_operation_without_a_result_is_not_a_failure) {
  // "Without `= RESULT` a failing operation is not an error of the trace."
  const replayed r = replay_text(
      "sdtrace 1\n"
      "mmap 0x100000000 4p --- private = 0x100000000\n"
      "write 0x100000000\n"
      "mprotect 0x100100000 1p r--\n");
  EXPECT_TRUE(r.failures.empty()) << describe(r.failures);
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[1], sigsegv());
  EXPECT_EQ(r.results[2], err(ENOMEM));
}

// --- other kernels ----------------------------------------------------------------------

TEST(replay, a_result_mismatch_on_a_6_18_trace_is_a_difference_not_a_failure) {
  const std::string body =
      "mmap 0x100000000 4p --- private = 0x100000000\n"       // 3 (4 with the header)
      "mmap 0x100001000 1p rw- private = 0x100001000\n";      // EEXIST on 6.12
  const replayed other = replay_text("sdtrace 1\nkernel 6.18.1\n" + body);
  EXPECT_TRUE(other.failures.empty()) << describe(other.failures);
  ASSERT_EQ(other.differences.size(), 1u);
  EXPECT_EQ(other.differences[0].line, 4);
  EXPECT_EQ(other.differences[0].expected, "0x100001000");
  EXPECT_EQ(other.differences[0].computed, "-EEXIST");

  // The same trace recorded on the modelled kernel is a failure.
  const replayed same = replay_text("sdtrace 1\nkernel 6.12.117\n" + body);
  ASSERT_EQ(same.failures.size(), 1u);
  EXPECT_EQ(same.failures[0].line, 4);
  EXPECT_TRUE(same.differences.empty());
}

}  // namespace
}  // namespace sdmc::test

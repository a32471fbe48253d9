// The corpus (traces/corpus/*.sdt.zst, recorded from real programs by traces/corpus/record.sh)
// replays on the model of Linux 6.12 without a single disagreement with what the programs saw
// on 6.18: every system call returns what it returned there, and every recorded store and load
// lands on a mapping that allows it (a trace whose order were wrong would fault).
#include <gtest/gtest.h>

#include <filesystem>

#include "model/policy.hpp"
#include "sim/replay.hpp"
#include "traces/sdtrace.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(SDMC_SOURCE_DIR "/traces/corpus"))
    if (e.path().string().ends_with(".sdt.zst")) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RecordCorpus, HasAtLeastFivePrograms) { EXPECT_GE(corpus().size(), 5u); }

TEST(RecordCorpus, EveryTraceReplaysWithTheResultsTheProgramSaw) {
  for (const std::string& path : corpus()) {
    SCOPED_TRACE(path);
    sdmc::trace::Trace t = sdmc::trace::parse_file(path);
    ASSERT_TRUE(t.kernel);
    auto pol = sdmc::make_policy("upstream-6.12");
    sdmc::replayer r(t, *pol);
    std::size_t stores = 0;
    for (const sdmc::trace::Line& l : t.lines) {
      r.step(l);
      const bool access = std::holds_alternative<sdmc::trace::Write>(l.op) ||
                          std::holds_alternative<sdmc::trace::Read>(l.op);
      if (access) {
        stores += std::holds_alternative<sdmc::trace::Write>(l.op);
        EXPECT_NE(r.results.back().kind, sdmc::trace::Result::Kind::Sigsegv)
            << "line " << l.lineno << ": " << sdmc::trace::format_line(l);
      }
    }
    r.finish();
    EXPECT_TRUE(r.failures.empty());
    for (const auto& d : r.differences)
      ADD_FAILURE() << "line " << d.line << ": " << d.op << " recorded " << d.expected << ", model "
                    << d.computed;
    EXPECT_GT(stores, 10u);
  }
}

}  // namespace

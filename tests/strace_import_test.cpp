// `sdmc import-strace` on real strace 6.1 output (tests/data/strace/README.md says how each log
// was made): which processes come out, and the operations their lines must become.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include "record/strace_import.hpp"
#include "run_program.hpp"
#include "traces/sdtrace.hpp"

namespace fs = std::filesystem;
using sdmc::record::import_strace;

namespace {

const std::string kData = SDMC_SOURCE_DIR "/tests/data/strace/";

std::vector<std::string> op_lines(const std::string& text) {
  std::vector<std::string> out;
  for (const sdmc::trace::Line& l : sdmc::trace::parse(text, "test").lines)
    out.push_back(sdmc::trace::format_line(l));
  return out;
}

bool has(const std::vector<std::string>& lines, const std::string& l) {
  return std::find(lines.begin(), lines.end(), l) != lines.end();
}

std::vector<std::string> keys(const sdmc::record::strace_import& r) {
  std::vector<std::string> k;
  for (auto& [key, text] : r.traces) k.push_back(key);
  return k;
}

// Memory calls the log shows completed for the given pids, counted from the log's text: a
// complete `name(` line or a `<... name resumed>` line, of the calls sdtrace expresses.
std::size_t count_calls(const std::string& log, const std::vector<std::string>& pids) {
  static const std::regex call(
      R"(^(\d+) \S+ (?:<\.\.\. )?(mmap|munmap|mprotect|mremap|madvise|brk)(?:\(| resumed>))");
  std::istringstream in(log);
  std::string line;
  std::size_t n = 0;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, call) && line.find("<unfinished ...>") == std::string::npos &&
        std::find(pids.begin(), pids.end(), m[1].str()) != pids.end())
      ++n;
  return n;
}

TEST(StraceImport, ThreadsJoinTheirProcessAndEveryCallBecomesAnOperation) {
  const std::string log = sdmc::test::slurp(kData + "python-threads.strace");
  auto r = import_strace(log, "6.18.44", "python-threads.strace");
  EXPECT_TRUE(r.problems.empty());
  // 17283 and 17284 are threads of 17282 (clone3 with CLONE_THREAD); 17285 is the vfork'd
  // child that exec'd /bin/true.
  EXPECT_EQ(keys(r), (std::vector<std::string>{"17282", "17285"}));
  for (auto& [key, text] : r.traces) {
    sdmc::trace::Trace t = sdmc::trace::parse(text, key);
    ASSERT_TRUE(t.kernel);
    EXPECT_EQ(*t.kernel, "6.18.44");
  }
  const std::vector<std::string> main = op_lines(r.traces["17282"]);
  const std::vector<std::string> child = op_lines(r.traces["17285"]);
  EXPECT_EQ(main.size(), count_calls(log, {"17282", "17283", "17284"}));
  EXPECT_EQ(child.size(), count_calls(log, {"17285"}));
  // line 2-3: brk(NULL) = 0x270d000; mmap(NULL, 8192, PROT_READ|PROT_WRITE,
  // MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f4ddd32e000
  EXPECT_EQ(main[0], "brk 0x270d000 0x0 = 0x270d000");
  EXPECT_EQ(main[1], "mmap 0x7f4ddd32e000 2p rw- private = 0x7f4ddd32e000");
  // -y names the file; MAP_FIXED at offset 0x26000 of libc
  EXPECT_TRUE(has(main, "mmap 0x7f4ddd03a000 342p r-x private "
                        "file=/usr/lib/x86_64-linux-gnu/libc.so.6@38p fixed = 0x7f4ddd03a000"));
  // line 31: brk(0x272e000) = 0x272e000 follows the break of line 30
  EXPECT_TRUE(has(main, "brk 0x270d000 0x272e000 = 0x272e000"));
  // line 53, thread 17283: a 128 MiB PROT_NONE reservation for a malloc arena
  auto arena = std::find(main.begin(), main.end(),
                         "mmap 0x7f4dd4400000 32768p --- private noreserve = 0x7f4dd4400000");
  ASSERT_NE(arena, main.end());
  EXPECT_EQ(*(arena + 1), "munmap 0x7f4dd4400000 15360p = 0");  // line 54
  // lines 127, 130 and 132: brk(0x2828000), then brk(0x281c000 <unfinished ...> completed by
  // `<... brk resumed>) = 0x281c000`
  auto grow = std::find(main.begin(), main.end(), "brk 0x27fe000 0x2828000 = 0x2828000");
  ASSERT_NE(grow, main.end());
  EXPECT_EQ(*(grow + 1), "brk 0x2828000 0x281c000 = 0x281c000");
  // line 133: `<... mmap resumed>` of 17285
  EXPECT_TRUE(has(child, "mmap 0x7fd3db5d5000 2p rw- private = 0x7fd3db5d5000"));
  EXPECT_EQ(child[0], "brk 0x55b42b2bc000 0x0 = 0x55b42b2bc000");
}

TEST(StraceImport, StderrFormatWithoutPathsNamesFilesByDescriptor) {
  const std::string log = sdmc::test::slurp(kData + "sh-stderr.strace");
  auto r = import_strace(log, "unknown", "sh-stderr.strace");
  EXPECT_TRUE(r.problems.empty());
  // The first process's lines carry no prefix when strace writes to stderr.
  EXPECT_EQ(keys(r), (std::vector<std::string>{"17293", "17294", "main"}));
  const std::vector<std::string> main = op_lines(r.traces["main"]);
  EXPECT_EQ(main[0], "brk 0x561c22e76000 0x0 = 0x561c22e76000");
  // line 5: mmap(0x7fabf1369000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|
  // MAP_DENYWRITE, 3, 0x26000) = 0x7fabf1369000
  EXPECT_TRUE(has(main, "mmap 0x7fabf1369000 342p r-x private file=fd3@38p fixed = 0x7fabf1369000"));
  EXPECT_NE(r.traces["main"].find("without -y a file is fdN"), std::string::npos);
  // line 15 grows the break that line 14 read
  EXPECT_TRUE(has(main, "brk 0x561c22e76000 0x561c22e97000 = 0x561c22e97000"));
}

TEST(StraceImport, LinesNotUnderstoodAreReportedByNumber) {
  const std::string log =
      "100 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
      "this is not strace output\n"
      "100 <... munmap resumed>) = 0\n"
      "100 mmap(NULL, 4096, PROT_READ|PROT_BOGUS, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000\n"
      "100 mprotect(0x7f0000000000, 4096, PROT_NONE\n"
      "100 +++ exited with 0 +++\n";
  auto r = import_strace(log, "unknown", "bad.log");
  ASSERT_EQ(r.problems.size(), 4u);
  EXPECT_EQ(r.problems[0].line, 2);
  EXPECT_NE(r.problems[0].what.find("not a system call line"), std::string::npos);
  EXPECT_EQ(r.problems[1].line, 3);
  EXPECT_NE(r.problems[1].what.find("no unfinished munmap"), std::string::npos);
  EXPECT_EQ(r.problems[2].line, 4);
  EXPECT_NE(r.problems[2].what.find("PROT_BOGUS"), std::string::npos);
  EXPECT_EQ(r.problems[3].line, 5);
  // The lines understood are still converted.
  EXPECT_EQ(op_lines(r.traces["100"]),
            (std::vector<std::string>{"mmap 0x7f0000000000 1p r-- private = 0x7f0000000000"}));
}

TEST(StraceImport, CommandWritesOneTracePerProcessAndFailsOnBadLines) {
  fs::path dir = fs::temp_directory_path() / "sdmc-strace-test";
  fs::create_directories(dir);
  const std::string sdmc = SDMC_BINARY_DIR "/sdmc";
  auto ok = sdmc::test::run_program(
      {sdmc, "import-strace", kData + "python-threads.strace", "-o", (dir / "py").string()},
      (dir / "ok").string());
  EXPECT_EQ(ok.exit_code(), 0) << ok.err;
  EXPECT_TRUE(fs::exists(dir / "py.17282.sdt"));
  EXPECT_TRUE(fs::exists(dir / "py.17285.sdt"));
  EXPECT_FALSE(fs::exists(dir / "py.17283.sdt"));  // a thread of 17282

  const fs::path bad = dir / "bad.log";
  {
    std::ofstream f(bad);
    f << "7 brk(NULL) = 0x1000000\n7 garbage\n";
  }
  auto r = sdmc::test::run_program({sdmc, "import-strace", bad.string(), "-o", (dir / "bad").string()},
                                   (dir / "bad").string());
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_NE(r.err.find(bad.string() + ":2: "), std::string::npos) << r.err;
  auto missing = sdmc::test::run_program(
      {sdmc, "import-strace", (dir / "none.log").string(), "-o", (dir / "none").string()},
      (dir / "none").string());
  EXPECT_EQ(missing.exit_code(), 2);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos);
}

}  // namespace

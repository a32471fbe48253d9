// `sdmc record` on tests/record/record_prog.c, whose mappings, stores and loads are known: the
// trace must hold exactly those, in an order that keeps every store before the layout change of
// its page, and the program must behave as it does untraced.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <filesystem>
#include <set>

#include "run_program.hpp"
#include "traces/sdtrace.hpp"

namespace fs = std::filesystem;
using sdmc::test::run_program;
using sdmc::test::run_result;

namespace {

const std::string kSdmc = SDMC_BINARY_DIR "/sdmc";
const std::string kProg = SDMC_RECORD_PROG;

std::string scratch(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "sdmc-record-test";
  fs::create_directories(dir);
  return (dir / name).string();
}

run_result record(const std::string& out, std::vector<std::string> args,
                  std::vector<std::string> opts = {"--interval", "0"}) {
  std::vector<std::string> argv = {kSdmc, "record", "-o", out};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("--");
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, out);
}

// sdmc record needs ptrace, seccomp and userfaultfd. Where the machine denies one (a container's
// seccomp profile), the tests that record are skipped with sdmc's own reason, not failed.
std::string recorder_unavailable() {
  static const std::string why = [] {
    const std::string out = scratch("probe.sdt");
    run_result r = record(out, {"/bin/true"});
    return r.exit_code() == 2 && r.err.find("not permitted") != std::string::npos ? r.err : "";
  }();
  return why;
}
#define REQUIRE_RECORDER()                                                   \
  do {                                                                       \
    if (std::string why = recorder_unavailable(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

// The lines of a trace about the test program's own regions A, B and C (0x2000_0000_0000 up to
// 0x2300_0000_0000), plus fork and epoch lines, as canonical text.
std::vector<std::string> region_lines(const sdmc::trace::Trace& t, bool epochs) {
  std::vector<std::string> out;
  for (const sdmc::trace::Line& l : t.lines) {
    const std::string text = sdmc::trace::format_line(l);
    if (text == "fork = 0" || (epochs && text == "epoch")) {
      out.push_back(text);
      continue;
    }
    const std::size_t sp = text.find(' ');
    if (sp == std::string::npos) continue;
    const std::uint64_t addr = std::stoull(text.substr(sp + 1), nullptr, 16);
    if (addr >= 0x200000000000ull && addr < 0x230000000000ull) out.push_back(text);
  }
  return out;
}

TEST(Record, BasicScenarioHasExactlyTheProgramsMappingsStoresAndLoads) {
  REQUIRE_RECORDER();
  const std::string out = scratch("basic.sdt");
  run_result r = record(out, {kProg, "basic"});
  ASSERT_EQ(r.exit_code(), 7) << r.err;
  EXPECT_EQ(r.out, "record_prog basic done\n");
  EXPECT_EQ(r.err, "");
  sdmc::trace::Trace t = sdmc::trace::parse_file(out);
  utsname u{};
  uname(&u);
  ASSERT_TRUE(t.kernel);
  EXPECT_EQ(*t.kernel, u.release);
  // record_prog.c:basic, step by step. Stores and loads are harvested before a call that
  // affects their page (the madvise of page 0), and everything at the thread's exit, the fork
  // and the process's exit; the store of the forked child (A page 1) is not the parent's.
  const std::vector<std::string> expected = {
      "mmap 0x200000000000 16p rw- private = 0x200000000000",
      "mprotect 0x200000008000 4p r-- = 0",
      "munmap 0x20000000c000 4p = 0",
      "mmap 0x210000000000 4p rw- private = 0x210000000000",  // by the thread
      // the thread's exit: everything so far
      "read 0x200000007000 1p",
      "write 0x200000000000 1p",
      "write 0x200000002000 1p",
      "write 0x200000005000 1p",
      "write 0x210000001000 1p",
      "epoch",
      "mremap 0x210000000000 4p 8p = 0x210000000000",
      "madvise 0x200000000000 1p dontneed = 0",
      // the fork
      "write 0x200000000000 1p",
      "write 0x200000003000 1p",
      "write 0x210000006000 1p",
      "epoch",
      "fork = 0",
      "epoch",  // the exit
  };
  std::vector<std::string> got = region_lines(t, true);
  // Epochs before the program's first region line belong to the loader's part.
  while (!got.empty() && got.front() == "epoch") got.erase(got.begin());
  EXPECT_EQ(got, expected);
}

TEST(Record, TraceReplaysWithoutFailures) {
  REQUIRE_RECORDER();
  const std::string out = scratch("replay.sdt");
  ASSERT_EQ(record(out, {kProg, "basic"}).exit_code(), 7);
  run_result r = run_program({kSdmc, "replay", out}, out + ".replay");
  EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PASS"), std::string::npos) << r.out;
}

TEST(Record, IntervalHarvestsSplitStoresWithoutMemoryCalls) {
  REQUIRE_RECORDER();
  // Two stores 300 ms apart with no memory call between them: only the timer separates them.
  auto stores = [](const sdmc::trace::Trace& t) {
    std::vector<std::string> lines = region_lines(t, true);
    std::vector<std::string> kept;
    bool seen = false;
    for (const std::string& l : lines) {
      if (l.rfind("write", 0) == 0) seen = true;
      if (seen) kept.push_back(l);
    }
    return kept;
  };
  const std::string timed = scratch("interval.sdt"), untimed = scratch("nointerval.sdt");
  ASSERT_EQ(record(timed, {kProg, "interval"}, {"--interval", "20"}).exit_code(), 0);
  ASSERT_EQ(record(untimed, {kProg, "interval"}, {"--interval", "0"}).exit_code(), 0);
  std::vector<std::string> a = stores(sdmc::trace::parse_file(timed));
  std::vector<std::string> b = stores(sdmc::trace::parse_file(untimed));
  ASSERT_GE(a.size(), 3u);
  EXPECT_EQ(a.front(), "write 0x200000000000 1p");
  auto second = std::find(a.begin(), a.end(), "write 0x200000001000 1p");
  ASSERT_NE(second, a.end());
  EXPECT_NE(std::find(a.begin(), second, "epoch"), second) << "no timer epoch between the stores";
  // Without the timer both stores wait for the exit harvest (page runs merge: one line).
  EXPECT_EQ(b, (std::vector<std::string>{"write 0x200000000000 2p", "epoch"}));
}

// The recorder's userfaultfd context asks for UFFD_FEATURE_EVENT_REMAP (record/wp_tracker.cpp):
// without it, an mremap that merges into a tracked neighbour unregisters the neighbour, and its
// later stores went unrecorded (a comment on every harvest said so).
TEST(Record, StoresNextToAnMremapThatMergesAreRecorded) {
  REQUIRE_RECORDER();
  const std::string out = scratch("remap.sdt");
  run_result r = record(out, {kProg, "remap"});
  ASSERT_EQ(r.exit_code(), 0) << r.err;
  const std::string text = sdmc::test::slurp(out);
  // No harvest failed (PAGEMAP_SCAN's PM_SCAN_CHECK_WPASYNC refuses an unregistered range).
  EXPECT_EQ(text.find("failed:"), std::string::npos) << text;
  EXPECT_EQ(text.find("its stores are not recorded"), std::string::npos) << text;
  std::vector<std::string> got = region_lines(sdmc::trace::parse(text, out), true);
  while (!got.empty() && got.front() == "epoch") got.erase(got.begin());
  const std::vector<std::string> calls = {
      "mmap 0x200000000000 1p rw- private = 0x200000000000",
      "mmap 0x220000000000 1p rw- private = 0x220000000000",
      "mremap 0x220000000000 1p 1p maymove fixed 0x200000001000 = 0x200000001000",
      "write 0x200000000000 1p",  // harvested before the mprotect of its page
      "mprotect 0x200000000000 1p r-- = 0",
      "mprotect 0x200000000000 1p rw- = 0",
  };
  ASSERT_GE(got.size(), calls.size()) << text;
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + std::ptrdiff_t(calls.size())), calls) << text;
  // After them, the stores to both pages of the merged VMA (the neighbour's and the moved one).
  std::set<std::uint64_t> written;
  for (std::size_t i = calls.size(); i < got.size(); ++i) {
    if (got[i].rfind("write ", 0) != 0) continue;
    const auto t = sdmc::trace::parse("sdtrace 1\n" + got[i] + "\n", "line");
    const auto& w = std::get<sdmc::trace::Write>(t.lines.at(0).op);
    for (std::uint64_t a = w.addr; a < w.addr + w.len; a += 4096) written.insert(a);
  }
  EXPECT_EQ(written, (std::set<std::uint64_t>{0x200000000000, 0x200000001000})) << text;
}

TEST(Record, ExecEndsTheRecordingAndTheNewProgramRunsOn) {
  REQUIRE_RECORDER();
  const std::string out = scratch("exec.sdt");
  run_result r = record(out, {kProg, "exec"});
  EXPECT_EQ(r.exit_code(), 5) << r.err;
  EXPECT_EQ(r.out, "after exec\n");
  const std::string text = sdmc::test::slurp(out);
  EXPECT_NE(text.find("# end: execve"), std::string::npos);
  EXPECT_EQ(text.find("0x220000000000"), std::string::npos) << "the exec'd program was recorded";
  std::vector<std::string> got = region_lines(sdmc::trace::parse(text, out), false);
  EXPECT_EQ(got, (std::vector<std::string>{"mmap 0x200000000000 1p rw- private = 0x200000000000",
                                           "write 0x200000000000 1p"}));
}

TEST(Record, DiesOfTheProgramsSignal) {
  REQUIRE_RECORDER();
  const std::string out = scratch("signal.sdt");
  run_result r = record(out, {kProg, "signal"});
  ASSERT_TRUE(WIFSIGNALED(r.status)) << r.status;
  EXPECT_EQ(WTERMSIG(r.status), SIGTERM);
  const std::string text = sdmc::test::slurp(out);
  EXPECT_NE(text.find("write 0x200000000000 1p"), std::string::npos);
  EXPECT_NE(text.find("# end: killed by signal 15"), std::string::npos);
}

TEST(Record, CompressedOutputReadsBackTransparently) {
  REQUIRE_RECORDER();
  const std::string out = scratch("basic.sdt.zst");
  ASSERT_EQ(record(out, {kProg, "basic"}).exit_code(), 7);
  const std::string raw = sdmc::test::slurp(out);
  ASSERT_GE(raw.size(), 4u);
  EXPECT_EQ(raw.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));  // zstd frame magic
  sdmc::trace::Trace t = sdmc::trace::parse_file(out);
  std::vector<std::string> got = region_lines(t, false);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front(), "mmap 0x200000000000 16p rw- private = 0x200000000000");
}

TEST(Record, MissingProgramIsAnErrorWithoutATrace) {
  REQUIRE_RECORDER();
  const std::string out = scratch("missing.sdt");
  fs::remove(out);
  run_result r = record(out, {"/nonexistent/record_prog"});
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_NE(r.err.find("cannot run '/nonexistent/record_prog': No such file or directory"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// Runs `sdmc record` in a process where system call `nr` fails with EPERM (a seccomp filter
// of the test's own, inherited by sdmc and the program): what a container that forbids it does.
run_result record_denied(long nr, const std::string& out) {
  const std::string so = out + ".stdout", se = out + ".stderr";
  pid_t pid = fork();
  if (pid == 0) {
    sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{4, f};
    // LeakSanitizer checks through ptrace at exit, which this process may be denying (ASan build).
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    freopen(so.c_str(), "w", stdout);
    freopen(se.c_str(), "w", stderr);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
      _exit(90);
    execl(kSdmc.c_str(), kSdmc.c_str(), "record", "-o", out.c_str(), "--", kProg.c_str(), "basic",
          (char*)nullptr);
    _exit(91);
  }
  run_result r;
  waitpid(pid, &r.status, 0);
  r.out = sdmc::test::slurp(so);
  r.err = sdmc::test::slurp(se);
  return r;
}

TEST(Record, MissingPermissionsAreClearErrors) {
  struct {
    long nr;
    const char* message;
  } cases[] = {
      {SYS_ptrace, "ptrace is not permitted here: Operation not permitted"},
      {SYS_seccomp, "cannot install the seccomp filter: Operation not permitted"},
      {SYS_userfaultfd, "userfaultfd is not permitted here: Operation not permitted"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.message);
    const std::string out = scratch("denied.sdt");
    fs::remove(out);
    run_result r = record_denied(c.nr, out);
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(r.out, "");  // the program did not run on without being recorded
  }
}

TEST(Record, UsageErrorsExitTwo) {
  EXPECT_EQ(run_program({kSdmc, "record", "--", kProg, "basic"}, scratch("noout")).exit_code(), 2);
  EXPECT_EQ(run_program({kSdmc, "record", "-o", scratch("noprog.sdt")}, scratch("noprog")).exit_code(), 2);
}

}  // namespace

// The KTAP parser and the sdmc observation layer (kernel/diff/, kernel/OBSERVATIONS.md).
// Samples in tests/data/ktap/ (see README there); expected values were read off
// the samples by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "kernel/diff/ktap.hpp"
#include "kernel/diff/observations.hpp"

using namespace sdmc;

namespace {

std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(SDMC_SOURCE_DIR) + "/tests/data/ktap/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The first n lines of text.
std::string first_lines(const std::string& text, int n) {
  std::size_t pos = 0;
  for (int i = 0; i < n && pos != std::string::npos; ++i) {
    pos = text.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  return pos == std::string::npos ? text : text.substr(0, pos);
}

// Every line prefixed with a printk time stamp.
std::string with_timestamps(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  int i = 0;
  while (std::getline(in, line)) {
    char ts[32];
    std::snprintf(ts, sizeof ts, "[%5d.%06d] ", i / 1000, (i * 7919) % 1000000);
    out += ts + line + "\n";
    ++i;
  }
  return out;
}

bool any_contains(const std::vector<std::string>& v, const std::string& s) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& x) { return x.find(s) != std::string::npos; });
}

std::string join(const std::vector<std::string>& v) {
  std::string o;
  for (auto& s : v) o += s + "\n";
  return o;
}

}  // namespace

// ---------------------------------------------------------------- generic KTAP

TEST(ktap_parse, NestedSubtestsPlansAndDirectives) {
  const char* text =
      "KTAP version 1\n"
      "1..2\n"
      "# top diagnostic\n"
      "    KTAP version 1\n"
      "    # Subtest: suite_a\n"
      "    1..3\n"
      "    # before case 1\n"
      "    ok 1 case_one\n"
      "        KTAP version 1\n"
      "        # Subtest: case_two\n"
      "        1..2\n"
      "        ok 1 param-0\n"
      "        # why\n"
      "        not ok 2 param-1\n"
      "    # case_two: pass:1 fail:1 skip:0 total:2\n"
      "    not ok 2 case_two\n"
      "    ok 3 case_three # skip: not today\n"
      "# suite_a: pass:1 fail:1 skip:1 total:3\n"
      "not ok 1 suite_a\n"
      "ok 2 - suite_b # TODO later\n";
  ktap_log log = parse_ktap(text);
  EXPECT_FALSE(log.truncated);
  EXPECT_TRUE(log.problems.empty()) << join(log.problems);
  EXPECT_EQ(log.version, 1);
  EXPECT_EQ(log.root.plan, 2);
  EXPECT_EQ(log.root.depth, 0);
  EXPECT_EQ(log.root.diagnostics, std::vector<std::string>{"top diagnostic"});
  ASSERT_EQ(log.root.subtests.size(), 2u);

  const ktap_test& a = log.root.subtests[0];
  EXPECT_EQ(a.name, "suite_a");
  EXPECT_EQ(a.number, 1);
  EXPECT_EQ(a.result, ktap_test::not_ok);
  EXPECT_EQ(a.depth, 1);
  EXPECT_EQ(a.plan, 3);
  EXPECT_EQ(a.line, 19);
  EXPECT_EQ(a.diagnostics, std::vector<std::string>{"suite_a: pass:1 fail:1 skip:1 total:3"});
  ASSERT_EQ(a.subtests.size(), 3u);
  EXPECT_EQ(a.subtests[0].name, "case_one");
  EXPECT_EQ(a.subtests[0].result, ktap_test::ok);
  EXPECT_EQ(a.subtests[0].depth, 2);
  EXPECT_EQ(a.subtests[0].diagnostics, std::vector<std::string>{"before case 1"});

  const ktap_test& two = a.subtests[1];
  EXPECT_EQ(two.name, "case_two");
  EXPECT_EQ(two.result, ktap_test::not_ok);
  EXPECT_EQ(two.plan, 2);
  ASSERT_EQ(two.subtests.size(), 2u);
  EXPECT_EQ(two.subtests[0].name, "param-0");
  EXPECT_EQ(two.subtests[0].depth, 3);
  EXPECT_EQ(two.subtests[1].result, ktap_test::not_ok);
  EXPECT_EQ(two.subtests[1].diagnostics, std::vector<std::string>{"why"});
  EXPECT_EQ(two.diagnostics, std::vector<std::string>{"case_two: pass:1 fail:1 skip:0 total:2"});

  EXPECT_EQ(a.subtests[2].result, ktap_test::skip);  // lower-case "skip", with ':'
  EXPECT_EQ(a.subtests[2].directive_reason, "not today");

  const ktap_test& b = log.root.subtests[1];
  EXPECT_EQ(b.name, "suite_b");  // TAP 13 "- " stripped
  EXPECT_EQ(b.result, ktap_test::todo);
  EXPECT_EQ(b.directive_reason, "later");
}

TEST(ktap_parse, SkipWithoutReasonAndNotOkSkip) {
  ktap_log log = parse_ktap("KTAP version 1\n1..3\nok 1 a # SKIP\nnot ok 2 b # Skip broken\nok 3 c # frob\n");
  ASSERT_EQ(log.root.subtests.size(), 3u);
  EXPECT_EQ(log.root.subtests[0].result, ktap_test::skip);
  EXPECT_EQ(log.root.subtests[0].directive_reason, "");
  EXPECT_EQ(log.root.subtests[1].result, ktap_test::skip);
  EXPECT_EQ(log.root.subtests[1].directive_reason, "broken");
  EXPECT_EQ(log.root.subtests[2].result, ktap_test::ok);  // unknown directive: plain ok
  EXPECT_EQ(log.root.subtests[2].directive_reason, "frob");
}

TEST(ktap_parse, StripsPrintkPrefixes) {
  EXPECT_EQ(strip_printk_prefix("[    1.234567]     # sdmc op 3 mmap 0x1\r"), "    # sdmc op 3 mmap 0x1");
  EXPECT_EQ(strip_printk_prefix("[ 1234.5] [    T1] ok 1 x"), "ok 1 x");
  EXPECT_EQ(strip_printk_prefix("<6>[    0.000001] KTAP version 1"), "KTAP version 1");
  EXPECT_EQ(strip_printk_prefix("[04:15:47] Starting KUnit"), "[04:15:47] Starting KUnit");  // kunit.py's own
  EXPECT_EQ(strip_printk_prefix("[mem 0x0-0x9fbff] usable"), "[mem 0x0-0x9fbff] usable");
}

TEST(ktap_parse, NoiseAndTimestampsGiveTheSameTree) {
  std::string plain = read_sample("kunit-basic.ktap");
  ktap_log a = parse_ktap(plain);

  // time stamps on every line, console noise in between (also mid-trace)
  std::string noisy = "Linux version 6.12.117 (root@vm)\nBIOS-e820: [mem 0x0-0x9fbff] usable\n";
  std::istringstream in(with_timestamps(plain));
  std::string line;
  int i = 0;
  while (std::getline(in, line)) {
    noisy += line + "\n";
    if (++i % 5 == 0) noisy += "[    0.5] random: crng init done\nrcu: Hierarchical SRCU implementation.\n\n";
  }
  noisy += "reboot: System halted\n";
  ktap_log b = parse_ktap(noisy);
  EXPECT_FALSE(b.truncated);
  EXPECT_TRUE(b.problems.empty()) << join(b.problems);
  EXPECT_GT(b.noise_lines, 10u);
  ASSERT_EQ(b.root.subtests.size(), 1u);
  const ktap_test& replay = b.root.subtests[0].subtests.at(0);
  EXPECT_EQ(replay.name, "sdmc_replay");
  ASSERT_EQ(replay.subtests.size(), 1u);
  EXPECT_EQ(replay.subtests[0].diagnostics, a.root.subtests[0].subtests[0].subtests[0].diagnostics);
  EXPECT_EQ(replay.subtests[0].diagnostics.front(), "sdmc trace basic.sdt");

  obs_boot ob = parse_observations(noisy);
  EXPECT_TRUE(ob.problems.empty()) << join(ob.problems);
  ASSERT_EQ(ob.traces.size(), 1u);
  EXPECT_EQ(ob.traces[0].ops.size(), 5u);
  EXPECT_EQ(ob.traces[0].st, obs_trace::status::ok);
}

TEST(ktap_parse, MissingResultsAndPlanPlaceholders) {
  ktap_log log = parse_ktap("KTAP version 1\n1..3\nok 1 a\n    KTAP version 1\n    # Subtest: b\n    1..2\n"
                            "    ok 1 b1\n    # running b2\n");
  EXPECT_TRUE(log.truncated);
  ASSERT_EQ(log.root.subtests.size(), 3u);
  const ktap_test& b = log.root.subtests[1];
  EXPECT_EQ(b.name, "b");
  EXPECT_EQ(b.result, ktap_test::missing);
  ASSERT_EQ(b.subtests.size(), 2u);
  EXPECT_EQ(b.subtests[1].result, ktap_test::missing);
  EXPECT_EQ(b.subtests[1].number, 2);
  EXPECT_EQ(b.subtests[1].diagnostics, std::vector<std::string>{"running b2"});
  EXPECT_EQ(log.root.subtests[2].result, ktap_test::missing);
  EXPECT_TRUE(any_contains(log.problems, "truncated")) << join(log.problems);
  EXPECT_TRUE(any_contains(log.problems, "'b'")) << join(log.problems);
  EXPECT_TRUE(any_contains(log.problems, "last result seen: 'b1'")) << join(log.problems);
}

TEST(ktap_parse, MalformedLinesAreProblemsNotExceptions) {
  ktap_log log = parse_ktap("KTAP version 1\n1..2\nok x name\nnot ok\n1..zz\nok 99999999999999999999 big\n"
                            "  ok 1 odd\nok 1 a\nok 2 b\n");
  EXPECT_GE(log.problems.size(), 4u) << join(log.problems);
  EXPECT_EQ(log.root.subtests.size(), 2u + 1u);  // "  ok 1 odd" is read at depth 0 (with a problem)
  EXPECT_TRUE(parse_ktap("").truncated);
  EXPECT_TRUE(parse_ktap("").problems.size() >= 1u);
}

TEST(ktap_parse, NeverCrashesOnGarbage) {
  std::string real = read_sample("kunit-trimmed.ktap") + read_sample("user-trimmed.ktap");
  // every prefix at a few hundred cut points
  for (std::size_t n = 0; n < real.size(); n += 97) {
    std::string cut = real.substr(0, n);
    parse_ktap(cut);
    parse_observations(cut);
  }
  // random mutations: bytes, spaces, deep indentation, absurd numbers
  std::mt19937 rng(12345);
  const char* inserts[] = {" ", "    ", "\n", "#", "# sdmc ", "ok ", "not ok ", "1..", "KTAP version 1\n",
                           "# Subtest: ", "0x", "99999999999999999999", "# SKIP", "\r", "\0", "[  1.2] "};
  for (int round = 0; round < 300; ++round) {
    std::string s = real.substr(rng() % real.size(), 4000);
    for (int k = 0; k < 40; ++k) {
      std::size_t at = s.empty() ? 0 : rng() % s.size();
      switch (rng() % 3) {
        case 0: s.insert(at, inserts[rng() % std::size(inserts)]); break;
        case 1: if (!s.empty()) s[at] = char(rng() % 256); break;
        case 2: if (!s.empty()) s.erase(at, rng() % 20); break;
      }
    }
    parse_ktap(s);
    parse_observations(s);
  }
  std::string deep(100000, ' ');
  parse_ktap(deep + "KTAP version 1\n" + deep + "ok 1 x\n" + std::string(50000, '\n'));
  std::string many;
  for (int d = 0; d < 200; ++d) many += std::string(4 * d, ' ') + "KTAP version 1\n";
  ktap_log l = parse_ktap(many);
  EXPECT_TRUE(l.truncated);
  parse_ktap("KTAP version 1\n1..2000000000\n");
}

// ------------------------------------------------------ observations: KUnit sample

TEST(ktap_observations, KunitTrimmedSample) {
  obs_boot b = parse_observations(read_sample("kunit-trimmed.ktap"));
  EXPECT_TRUE(b.problems.empty()) << join(b.problems);
  EXPECT_FALSE(b.truncated);
  EXPECT_EQ(b.obs_version, 1);
  EXPECT_EQ(b.kernel, "6.12.117");
  EXPECT_EQ(b.source, "6.12.117 deb=6.12.117-1~deb12u1 series=upstream-6.12");
  EXPECT_EQ(b.traces_declared, 4);
  ASSERT_TRUE(b.stats.has_value());
  EXPECT_EQ(*b.stats, "traces=4 replayed=3 ops=19 ms=1753 traces_per_s=21 ops_per_s=290");
  ASSERT_EQ(b.traces.size(), 4u);

  // basic.sdt (sample lines 11-41)
  const obs_trace& basic = b.traces[0];
  EXPECT_EQ(basic.name, "basic.sdt");
  EXPECT_EQ(basic.log_line, 11);
  EXPECT_EQ(basic.st, obs_trace::status::ok);
  EXPECT_EQ(basic.ops_declared, 5);
  ASSERT_EQ(basic.range.size(), 1u);
  EXPECT_EQ(basic.range[0], std::make_pair(std::uint64_t{0x100000000}, std::uint64_t{0x100006000}));
  ASSERT_EQ(basic.ops.size(), 5u);
  const obs_op& op0 = basic.ops[0];
  EXPECT_EQ(op0.line, 3);
  EXPECT_EQ(op0.kind, "mmap");
  EXPECT_EQ(op0.result, "0x100000000");
  ASSERT_EQ(op0.vmas.size(), 1u);
  EXPECT_EQ(op0.vmas[0].start, 0x100000000u);
  EXPECT_EQ(op0.vmas[0].end, 0x100004000u);
  EXPECT_EQ(op0.vmas[0].flags, (std::vector<std::string>{"rd", "wr", "mr", "mw", "me", "ac", "sd"}));
  EXPECT_EQ(op0.vmas[0].keys.at("pgoff"), "0x0");
  EXPECT_EQ(op0.vmas[0].keys.at("anon"), "1");
  EXPECT_EQ(op0.vmas[0].keys.at("wprot"), "0");
  ASSERT_EQ(op0.pages.size(), 2u);
  EXPECT_EQ(op0.pages[0].start, 0x100000000u);
  EXPECT_EQ(op0.pages[0].npages, 4u);
  EXPECT_EQ(op0.pages[0].bits, "1000000");
  EXPECT_EQ(basic.ops[2].kind, "clear_refs");
  EXPECT_EQ(basic.ops[2].result, "0");
  // op 7 write: sample lines 29-32
  const obs_op* w = basic.find_op(7);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->kind, "write");
  EXPECT_EQ(w->pages.size(), 4u);
  EXPECT_EQ(bits_at(*w, 0x100000000), "0100011");
  EXPECT_EQ(bits_at(*w, 0x100001000), "1100011");
  EXPECT_EQ(bits_at(*w, 0x100001fff), "1100011");
  EXPECT_EQ(bits_at(*w, 0x100003000), "0100011");
  EXPECT_EQ(bits_at(*w, 0x100005000), "0000000");
  EXPECT_EQ(bits_at(*w, 0x100006000), "");  // outside the observed range
  EXPECT_EQ(bits_at(*w, 0xfff), "");
  EXPECT_EQ(merged_pages(*w).size(), 4u);
  EXPECT_EQ(expand_pages(*w).size(), 6u);
  ASSERT_EQ(basic.expects.size(), 4u);
  EXPECT_EQ(basic.expects[0].line, 6);
  EXPECT_TRUE(basic.expects[0].ok);
  EXPECT_EQ(basic.expects[3].line, 11);
  EXPECT_TRUE(basic.mismatches.empty());
  EXPECT_TRUE(basic.errors.empty());
  EXPECT_EQ(basic.end_failures, 0);

  // seqA-mremap-move.sdt: op 8 mremap (sample lines 68-72)
  const obs_trace& seqa = b.traces[1];
  EXPECT_EQ(seqa.name, "seqA-mremap-move.sdt");
  const obs_op* mr = seqa.find_op(8);
  ASSERT_NE(mr, nullptr);
  EXPECT_EQ(mr->kind, "mremap");
  EXPECT_EQ(mr->result, "0x100002000");
  ASSERT_EQ(mr->vmas.size(), 3u);
  EXPECT_EQ(mr->vmas[1].start, 0x100001000u);
  EXPECT_EQ(mr->vmas[1].end, 0x100003000u);
  EXPECT_EQ(mr->vmas[1].flags.back(), "ac");  // no sd: the moved, never-written page lost it
  EXPECT_EQ(bits_at(*mr, 0x100002000), "0000000");
  EXPECT_EQ(seqa.expects.size(), 3u);

  // seqC-madvise-stale-prot.sdt: op 7 mmap of the shared page (sample lines 98-105)
  const obs_trace& seqc = b.traces[2];
  const obs_op* m7 = seqc.find_op(7);
  ASSERT_NE(m7, nullptr);
  ASSERT_EQ(m7->vmas.size(), 4u);
  EXPECT_EQ(m7->vmas[2].keys.at("pgoff"), "0x1");
  EXPECT_EQ(m7->vmas[2].keys.at("anon"), "0");
  EXPECT_EQ(m7->vmas[2].keys.at("wprot"), "1");
  EXPECT_NE(std::find(m7->vmas[2].flags.begin(), m7->vmas[2].flags.end(), "sh"), m7->vmas[2].flags.end());
  EXPECT_EQ(bits_at(*seqc.find_op(10), 0x100001000), "0101011");
  EXPECT_EQ(seqc.ops.size(), 9u);
  EXPECT_EQ(seqc.ops_declared, 9);

  // skip-fork.sdt (sample lines 133-137)
  const obs_trace& skip = b.traces[3];
  EXPECT_EQ(skip.name, "skip-fork.sdt");
  EXPECT_EQ(skip.st, obs_trace::status::skip);
  EXPECT_EQ(skip.skip_reason, "fork: a kernel thread cannot fork its mm (userspace observer only)");
  EXPECT_EQ(skip.ops_declared, 3);
  EXPECT_TRUE(skip.ops.empty());
  EXPECT_FALSE(skip.end_failures.has_value());

  // the KTAP tree of the same sample
  const ktap_log& k = b.ktap;
  EXPECT_FALSE(k.truncated);
  EXPECT_EQ(k.root.plan, 1);
  EXPECT_EQ(k.root.diagnostics,
            (std::vector<std::string>{
                "sdmc version obs=1 kernel=6.12.117 source=6.12.117 deb=6.12.117-1~deb12u1 series=upstream-6.12",
                "sdmc traces 4"}));
  ASSERT_EQ(k.root.subtests.size(), 1u);
  const ktap_test& suite = k.root.subtests[0];
  EXPECT_EQ(suite.name, "sdmc");
  EXPECT_EQ(suite.result, ktap_test::ok);
  EXPECT_EQ(suite.line, 142);
  EXPECT_EQ(suite.diagnostics,
            (std::vector<std::string>{"module: sdmc_kunit",
                                      "sdmc stats traces=4 replayed=3 ops=19 ms=1753 traces_per_s=21 ops_per_s=290",
                                      "Totals: pass:3 fail:0 skip:1 total:4"}));
  ASSERT_EQ(suite.subtests.size(), 1u);
  const ktap_test& replay = suite.subtests[0];
  EXPECT_EQ(replay.name, "sdmc_replay");
  EXPECT_EQ(replay.depth, 2);
  EXPECT_EQ(replay.plan, -1);  // KUnit prints no plan for parameterised cases
  EXPECT_EQ(replay.diagnostics, std::vector<std::string>{"sdmc_replay: pass:3 fail:0 skip:1 total:4"});
  ASSERT_EQ(replay.subtests.size(), 4u);
  EXPECT_EQ(replay.subtests[0].depth, 3);
  EXPECT_EQ(replay.subtests[0].diagnostics.size(), 30u);  // sample lines 11-40
  EXPECT_EQ(replay.subtests[0].diagnostics.back(), "sdmc end 0");
  EXPECT_EQ(replay.subtests[3].result, ktap_test::skip);
  EXPECT_EQ(replay.subtests[3].number, 4);
  EXPECT_EQ(replay.subtests[3].directive_reason,
            "fork: a kernel thread cannot fork its mm (userspace observer only)");
}

TEST(ktap_observations, KunitFullSingleTraceLog) {
  obs_boot b = parse_observations(read_sample("kunit-basic.ktap"));
  EXPECT_TRUE(b.problems.empty()) << join(b.problems);
  EXPECT_FALSE(b.truncated);
  EXPECT_EQ(b.traces_declared, 1);
  ASSERT_EQ(b.traces.size(), 1u);
  const obs_trace& t = b.traces[0];
  EXPECT_EQ(t.st, obs_trace::status::ok);
  ASSERT_EQ(t.ops.size(), 5u);
  const obs_op& last = t.ops.back();  // op 9 mmap 0x100004000: the merge re-dirties
  EXPECT_EQ(last.line, 9);
  EXPECT_EQ(last.result, "0x100004000");
  ASSERT_EQ(last.vmas.size(), 1u);
  EXPECT_EQ(last.vmas[0].end, 0x100006000u);
  EXPECT_EQ(bits_at(last, 0x100004000), "1000001");
  ASSERT_TRUE(b.stats.has_value());
  EXPECT_EQ(b.stats->substr(0, 25), "traces=1 replayed=1 ops=5");
}

// -------------------------------------------------- observations: userspace sample

TEST(ktap_observations, UserspaceTrimmedSample) {
  obs_boot b = parse_observations(read_sample("user-trimmed.ktap"));
  EXPECT_TRUE(b.problems.empty()) << join(b.problems);
  EXPECT_FALSE(b.truncated);
  EXPECT_EQ(b.obs_version, 1);
  // everything after source= is the source text, observer= included
  EXPECT_EQ(b.source, "6.12.117 deb=6.12.117-1~deb12u1 series=upstream-6.12 observer=sdreplay");
  EXPECT_EQ(b.traces_declared, 3);
  EXPECT_FALSE(b.stats.has_value());
  ASSERT_EQ(b.traces.size(), 3u);
  const obs_trace& fork = b.traces[1];
  EXPECT_EQ(fork.name, "skip-fork.sdt");
  EXPECT_EQ(fork.st, obs_trace::status::ok);  // the userspace observer runs fork
  ASSERT_EQ(fork.ops.size(), 3u);
  EXPECT_EQ(fork.ops[2].line, 4);
  EXPECT_EQ(fork.ops[2].kind, "fork");
  EXPECT_EQ(fork.ops[2].result, "0");
  ASSERT_EQ(fork.ops[2].vmas.size(), 1u);
  EXPECT_EQ(fork.ops[2].vmas[0].keys.count("wprot"), 0u);  // userspace cannot see it
  EXPECT_EQ(fork.ops[2].vmas[0].keys.at("anon"), "1");
  EXPECT_EQ(bits_at(fork.ops[2], 0x100001000), "1100011");
  EXPECT_EQ(b.traces[2].name, "seqC-madvise-stale-prot.sdt");
  EXPECT_EQ(b.traces[2].st, obs_trace::status::ok);
  // the KTAP skeleton: version/traces lines come before "KTAP version 1"
  EXPECT_EQ(b.ktap.root.diagnostics.size(), 2u);
  ASSERT_EQ(b.ktap.root.subtests.size(), 1u);
  EXPECT_EQ(b.ktap.root.subtests[0].diagnostics.back(), "sdmc: pass:1 fail:0 skip:0 total:1");
  EXPECT_EQ(b.ktap.root.subtests[0].subtests.at(0).subtests.size(), 3u);
}

// ------------------------------------------------------- truncated / crashed logs

TEST(ktap_observations, TruncatedInTheMiddleOfATrace) {
  // cut after sample line 60: inside seqA-mremap-move.sdt, in the state block of its op 6
  obs_boot b = parse_observations(first_lines(read_sample("kunit-trimmed.ktap"), 60));
  EXPECT_TRUE(b.truncated);
  EXPECT_TRUE(b.ktap.truncated);
  ASSERT_EQ(b.traces.size(), 2u);
  EXPECT_EQ(b.traces[0].st, obs_trace::status::ok);
  const obs_trace& t = b.traces[1];
  EXPECT_EQ(t.name, "seqA-mremap-move.sdt");
  EXPECT_EQ(t.st, obs_trace::status::missing);
  ASSERT_EQ(t.ops.size(), 4u);
  EXPECT_EQ(t.ops[3].line, 6);
  EXPECT_EQ(t.ops[3].vmas.size(), 2u);
  EXPECT_FALSE(t.end_failures.has_value());
  EXPECT_TRUE(any_contains(b.problems, "seqA-mremap-move.sdt")) << join(b.problems);
  EXPECT_TRUE(any_contains(b.ktap.problems, "basic.sdt")) << join(b.ktap.problems);  // last result seen
  EXPECT_TRUE(any_contains(b.ktap.problems, "sdmc_replay")) << join(b.ktap.problems);
  const ktap_test& suite = b.ktap.root.subtests.at(0);
  EXPECT_EQ(suite.result, ktap_test::missing);
  EXPECT_EQ(suite.subtests.at(0).result, ktap_test::missing);
  EXPECT_EQ(suite.subtests.at(0).subtests.size(), 1u);
}

TEST(ktap_observations, CrashedLogWithPanic) {
  std::string log = with_timestamps(first_lines(read_sample("kunit-trimmed.ktap"), 100));
  log +=
      "[    2.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
      "[    2.345679] #PF: supervisor write access in kernel mode\n"
      "[    2.345680] Oops: 0002 [#1] PREEMPT SMP NOPTI\n"
      "[    2.345681] CPU: 0 UID: 0 PID: 42 Comm: kunit_try_catch Tainted: G                 N 6.12.117 #6\n"
      "[    2.345682] RIP: 0010:sdmc_exec+0x1c/0x300\n"
      "[    2.345690] Kernel panic - not syncing: Fatal exception\n"
      "[    2.345691] ---[ end Kernel panic - not syncing: Fatal exception ]---\n";
  obs_boot b = parse_observations(log);
  EXPECT_TRUE(b.truncated);
  ASSERT_EQ(b.traces.size(), 3u);
  EXPECT_EQ(b.traces[0].st, obs_trace::status::ok);
  EXPECT_EQ(b.traces[1].st, obs_trace::status::ok);
  EXPECT_EQ(b.traces[2].name, "seqC-madvise-stale-prot.sdt");
  EXPECT_EQ(b.traces[2].st, obs_trace::status::missing);
  EXPECT_EQ(b.traces[2].ops.size(), 5u);  // ops 3, 4, 5, 6, 7 (sample lines 80-98)
  EXPECT_TRUE(any_contains(b.problems, "ktap: line 101: kernel: BUG: kernel NULL pointer")) << join(b.problems);
  EXPECT_TRUE(any_contains(b.problems, "Kernel panic")) << join(b.problems);
  // "#PF: ..." is a diagnostic by KTAP syntax; it is not an observation line
  EXPECT_TRUE(b.traces[2].errors.empty());
}

// ------------------------------------------------ failures, versions, extensions

TEST(ktap_observations, FailuresErrorsAndForwardCompatibility) {
  const char* text =
      "KTAP version 1\n"
      "1..1\n"
      "    # sdmc version obs=1 kernel=6.12.117 source=x\n"
      "    # sdmc traces 3\n"
      "    # sdmc note zram: cannot swapon\n"
      "    KTAP version 1\n"
      "    # Subtest: sdmc\n"
      "    1..1\n"
      "        KTAP version 1\n"
      "        # Subtest: sdmc_replay\n"
      "        # sdmc trace bad.sdt\n"
      "        # sdmc ops 2\n"
      "        # sdmc range 0x1000 0x3000\n"
      "        # sdmc range 0x5000 0x6000\n"
      "        # sdmc op 2 mmap -EEXIST future=token\n"
      "        # sdmc mismatch 2\n"
      "        # sdmc_replay: EXPECTATION FAILED at mm/sdmc/sdmc_kunit.c:964\n"
      "        line 2: mmap returned -EEXIST, the trace says otherwise\n"
      "        # sdmc vma 0x0 0x2000 - pgoff=0x0 anon=1 newkey=7 bare\n"
      "        # sdmc pg 0x1000 1 0000000\n"
      "        # sdmc frobnicate 1 2 3\n"
      "        # sdmc pg 0x2000 1 0000000\n"
      "        # sdmc pg 0x5000 1 1000001\n"
      "        # sdmc expect 3 FAIL got=0101...\n"
      "        # sdmc end 2\n"
      "        not ok 1 bad.sdt\n"
      "        # sdmc trace parse.sdt\n"
      "        # sdmc error parse 3 7 unknown operation 'frob'\n"
      "        not ok 2 parse.sdt\n"
      "        # sdmc trace swap.sdt\n"
      "        # sdmc skip swap on: no swap\n"
      "        ok 3 swap.sdt # SKIP swap on: no swap\n"
      "    # sdmc_replay: pass:0 fail:2 skip:1 total:3\n"
      "    not ok 1 sdmc_replay\n"
      "not ok 1 sdmc\n";
  obs_boot b = parse_observations(text);
  EXPECT_TRUE(b.problems.empty()) << join(b.problems);
  ASSERT_EQ(b.traces.size(), 3u);
  const obs_trace& bad = b.traces[0];
  EXPECT_EQ(bad.st, obs_trace::status::not_ok);
  EXPECT_EQ(bad.range.size(), 2u);
  ASSERT_EQ(bad.ops.size(), 1u);
  EXPECT_EQ(bad.ops[0].result, "-EEXIST");
  EXPECT_EQ(bad.mismatches, std::vector<int>{2});
  ASSERT_EQ(bad.ops[0].vmas.size(), 1u);
  EXPECT_TRUE(bad.ops[0].vmas[0].flags.empty());
  EXPECT_EQ(bad.ops[0].vmas[0].keys.at("newkey"), "7");
  EXPECT_EQ(bad.ops[0].vmas[0].keys.count("bare"), 0u);
  EXPECT_EQ(bad.ops[0].pages.size(), 3u);
  EXPECT_EQ(merged_pages(bad.ops[0]).size(), 2u);  // 0x1000 and 0x2000 merge
  EXPECT_EQ(merged_pages(bad.ops[0])[0].npages, 2u);
  EXPECT_EQ(bits_at(bad.ops[0], 0x5000), "1000001");
  EXPECT_EQ(bits_at(bad.ops[0], 0x4000), "");
  ASSERT_EQ(bad.expects.size(), 1u);
  EXPECT_FALSE(bad.expects[0].ok);
  EXPECT_EQ(bad.expects[0].got, "0101...");
  EXPECT_EQ(bad.end_failures, 2);
  EXPECT_EQ(b.traces[1].errors, std::vector<std::string>{"parse 3 7 unknown operation 'frob'"});
  EXPECT_EQ(b.traces[1].st, obs_trace::status::not_ok);
  EXPECT_EQ(b.traces[2].st, obs_trace::status::skip);
  EXPECT_EQ(b.traces[2].skip_reason, "swap on: no swap");
}

TEST(ktap_observations, SdscanKeyOfPgLines) {
  // `sdscan=` after BITS (OBSERVATIONS.md 2.2): runs that differ only there are apart, a log
  // without it reads '-', other keys are ignored, a value other than 0/1 is a problem.
  const char* text =
      "    # sdmc version obs=1 kernel=6.12.117 source=x\n"
      "KTAP version 1\n1..1\n"
      "        # sdmc trace t.sdt\n"
      "        # sdmc range 0x1000 0x5000\n"
      "        # sdmc op 1 mmap 0x1000\n"
      "        # sdmc pg 0x1000 1 0100011 sdscan=0\n"
      "        # sdmc pg 0x2000 1 0100011 sdscan=1 later=9\n"
      "        # sdmc pg 0x3000 1 0100011\n"
      "        # sdmc pg 0x4000 1 0100011 sdscan=1\n"
      "        # sdmc op 2 write 0\n"
      "        # sdmc pg 0x1000 4 0000000 sdscan=2\n"
      "        # sdmc end 0\n"
      "        ok 1 t.sdt\n";
  obs_boot b = parse_observations(text);
  ASSERT_EQ(b.traces.size(), 1u);
  const obs_op& op = b.traces[0].ops.at(0);
  EXPECT_EQ(sdscan_at(op, 0x1000), '0');
  EXPECT_EQ(sdscan_at(op, 0x2fff), '1');
  EXPECT_EQ(sdscan_at(op, 0x3000), '-');
  EXPECT_EQ(sdscan_at(op, 0x5000), 0);  // outside every run
  EXPECT_EQ(bits_at(op, 0x2000), "0100011");
  EXPECT_EQ(merged_pages(op).size(), 4u);  // equal BITS, but sdscan differs run to run
  // One observation problem (the KTAP skeleton is left out of this text: "ktap:" ones aside).
  EXPECT_EQ(std::count_if(b.problems.begin(), b.problems.end(),
                          [](const std::string& p) { return p.rfind("ktap:", 0) != 0; }),
            1)
      << join(b.problems);
  EXPECT_TRUE(any_contains(b.problems, "sdscan '2'")) << join(b.problems);
  EXPECT_TRUE(b.traces[0].ops.at(1).pages.empty());
}

TEST(ktap_observations, OtherObsVersionIsAProblem) {
  obs_boot b = parse_observations("    # sdmc version obs=2 kernel=7.0 source=y\nKTAP version 1\n1..0\n");
  EXPECT_EQ(b.obs_version, 2);
  EXPECT_TRUE(any_contains(b.problems, "obs=2")) << join(b.problems);
  obs_boot none = parse_observations("KTAP version 1\n1..0\n");
  EXPECT_EQ(none.obs_version, -1);
  EXPECT_TRUE(any_contains(none.problems, "version")) << join(none.problems);
}

TEST(ktap_observations, BadStateBlocksAreProblems) {
  const char* text =
      "    # sdmc version obs=1 kernel=6.12.117 source=x\n"
      "KTAP version 1\n1..1\n"
      "        # sdmc pg 0x1000 1 0000000\n"         // outside a trace
      "        # sdmc trace t.sdt\n"
      "        # sdmc range 0x1000 0x3000\n"
      "        # sdmc vma 0x1000 0x2000 rd\n"         // before any op
      "        # sdmc op 1 write 0\n"
      "        # sdmc pg 0x1000 1 00000\n"            // 5 bits
      "        # sdmc pg 0x1000 zz 0000000\n"         // bad count
      "        # sdmc pg 0x1000 1 0000000\n"          // then 0x2000 never covered
      "        # sdmc trace u.sdt\n"                  // t.sdt has no result line
      "        ok 1 u.sdt\n"
      "ok 1 x\n";
  obs_boot b = parse_observations(text);
  ASSERT_EQ(b.traces.size(), 2u);
  EXPECT_EQ(b.traces[0].st, obs_trace::status::missing);
  EXPECT_TRUE(b.truncated);
  EXPECT_TRUE(any_contains(b.problems, "outside a trace")) << join(b.problems);
  EXPECT_TRUE(any_contains(b.problems, "outside a state block")) << join(b.problems);
  EXPECT_TRUE(any_contains(b.problems, "7 binary digits")) << join(b.problems);
  EXPECT_TRUE(any_contains(b.problems, "bad pg count")) << join(b.problems);
  EXPECT_TRUE(any_contains(b.problems, "do not cover")) << join(b.problems);
  EXPECT_TRUE(any_contains(b.problems, "'t.sdt' has no result line")) << join(b.problems);
}

// The model against real Linux 6.12 output, offline: the KTAP logs in tests/data/ktap are what
// the KUnit observer printed for kernel/tests/*.sdt (tests/data/ktap/README.md). The model's
// observations of the same traces must equal them, and a changed kernel observation must be
// reported as a difference at its line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "kernel/diff/compare.hpp"
#include "kernel/diff/observations.hpp"
#include "model/policy.hpp"

namespace sdmc::kdiff {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

struct kernel_compare : ::testing::Test {
  std::unique_ptr<policy> pol = make_policy("upstream-6.12");
  obs_boot boot = parse_observations(slurp(SDMC_SOURCE_DIR "/tests/data/ktap/kunit-trimmed.ktap"));
  const obs_trace& kernel_trace(const std::string& name) {
    for (const obs_trace& t : boot.traces)
      if (t.name == name) return t;
    throw std::runtime_error("no trace " + name);
  }
  trace::Trace load(const std::string& name) {
    return trace::parse_file(SDMC_SOURCE_DIR "/kernel/tests/" + name);
  }
};

TEST_F(kernel_compare, the_model_observes_what_the_kernel_printed) {
  for (const char* name : {"basic.sdt", "seqA-mremap-move.sdt", "seqC-madvise-stale-prot.sdt"}) {
    const obs_trace& k = kernel_trace(name);
    ASSERT_EQ(k.st, obs_trace::status::ok) << name;
    const obs_trace m = model_observe(load(name), *pol, k.range);
    auto diffs = compare(m, k);
    EXPECT_TRUE(diffs.empty()) << name << ": line " << diffs.front().line << " " << diffs.front().what
                               << "\nmodel:  " << diffs.front().model << "\nkernel: " << diffs.front().kernel;
    EXPECT_EQ(m.ops.size(), k.ops.size()) << name;
  }
}

TEST_F(kernel_compare, a_changed_soft_dirty_bit_is_a_difference_at_its_line) {
  // Sequence A: after the mremap move the kernel reports the moved page clean (its VMA lost
  // VM_SOFTDIRTY). Claim it read dirty instead: that must be reported at the mremap line.
  obs_trace k = kernel_trace("seqA-mremap-move.sdt");
  obs_op* mremap = nullptr;
  for (obs_op& op : k.ops)
    if (op.kind == "mremap") mremap = &op;
  ASSERT_NE(mremap, nullptr);
  for (obs_pg& pg : mremap->pages) pg.bits[0] = pg.bits[0] == '0' ? '1' : '0';
  const obs_trace m = model_observe(load("seqA-mremap-move.sdt"), *pol, k.range);
  auto diffs = compare(m, k);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].line, mremap->line);
  EXPECT_NE(diffs[0].what.find("pages"), std::string::npos);
}

TEST_F(kernel_compare, a_changed_result_and_a_changed_vma_are_differences) {
  obs_trace k = kernel_trace("basic.sdt");
  k.ops[0].result = "-ENOMEM";
  const obs_trace m = model_observe(load("basic.sdt"), *pol, k.range);
  auto diffs = compare(m, k);
  ASSERT_FALSE(diffs.empty());
  EXPECT_EQ(diffs[0].what, "result");
  EXPECT_EQ(diffs[0].kernel, "-ENOMEM");

  obs_trace k2 = kernel_trace("basic.sdt");
  ASSERT_FALSE(k2.ops[0].vmas.empty());
  k2.ops[0].vmas[0].flags.push_back("lo");  // VM_LOCKED the model does not have
  auto d2 = compare(m, k2);
  ASSERT_FALSE(d2.empty());
  EXPECT_EQ(d2[0].what, "vmas");
}

TEST_F(kernel_compare, a_log_without_sdscan_is_compared_without_it_and_a_changed_one_differs) {
  // kunit-trimmed.ktap predates the key: nothing to compare it with (the test above passes).
  const obs_trace& old = kernel_trace("basic.sdt");
  ASSERT_EQ(old.ops[0].pages[0].sdscan, '-');
  // With the key, a page whose PAGE_IS_SOFT_DIRTY differs is a difference even with equal BITS.
  obs_trace k = old;
  const obs_trace m = model_observe(load("basic.sdt"), *pol, k.range);
  for (obs_op& op : k.ops)
    for (obs_pg& pg : op.pages) pg.sdscan = pg.bits[0];  // 6.12: sdscan is bit 55 here
  EXPECT_TRUE(compare(m, k).empty());
  k.ops[2].pages[0].sdscan = k.ops[2].pages[0].sdscan == '0' ? '1' : '0';
  auto diffs = compare(m, k);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].line, k.ops[2].line);
  EXPECT_NE(diffs[0].what.find("sdscan"), std::string::npos);
}

// The granular kernel (kernel/patches/granular) on kernel/tests/granular/scan-per-address.sdt
// and kernel/tests/basic.sdt, with the sdscan key: before and after patch 0007.
struct granular_compare : ::testing::Test {
  std::unique_ptr<policy> pol = make_policy("granular");
  trace::Trace load(const std::string& name) {
    return trace::parse_file(SDMC_SOURCE_DIR "/kernel/tests/" + name);
  }
  static const obs_trace& find(const obs_boot& b, const std::string& name) {
    for (const obs_trace& t : b.traces)
      if (t.name == name) return t;
    throw std::runtime_error("no trace " + name);
  }
};

TEST_F(granular_compare, the_model_scans_per_address_as_the_kernel_with_patch_0007) {
  obs_boot b = parse_observations(slurp(SDMC_SOURCE_DIR "/tests/data/ktap/kunit-granular.ktap"));
  for (const char* name : {"scan-per-address.sdt", "basic.sdt"}) {
    const obs_trace& k = find(b, name);
    ASSERT_FALSE(k.ops.empty()) << name;
    ASSERT_NE(k.ops[0].pages[0].sdscan, '-') << name;
    const std::string path = std::string(name) == "basic.sdt" ? name : std::string("granular/") + name;
    const obs_trace m = model_observe(load(path), *pol, k.range);
    auto diffs = compare(m, k);
    EXPECT_TRUE(diffs.empty()) << name << ": line " << diffs.front().line << " " << diffs.front().what
                               << "\nmodel:  " << diffs.front().model << "\nkernel: " << diffs.front().kernel;
  }
}

TEST_F(granular_compare, the_series_without_patch_0007_over_reports_in_the_scan_only) {
  // Up to patch 0006 PAGEMAP_SCAN took PAGE_IS_SOFT_DIRTY for the whole VMA: after clear_refs
  // and the mmap that merges a new range into the clean VMA (line 13), the kernel read all 8
  // pages soft-dirty in the scan while bit 55 said 00001111, like the model.
  obs_boot b = parse_observations(slurp(SDMC_SOURCE_DIR "/tests/data/ktap/kunit-granular-pre0007.ktap"));
  const obs_trace& k = find(b, "scan-per-address.sdt");
  const obs_trace m = model_observe(load("granular/scan-per-address.sdt"), *pol, k.range);
  auto diffs = compare(m, k);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].line, 13);
  EXPECT_EQ(diffs[0].what, "pages (sd ex wp fi sw pr wr, sdscan)");
  EXPECT_NE(diffs[0].model.find("0x100001000 0000000 sdscan=0"), std::string::npos) << diffs[0].model;
  EXPECT_NE(diffs[0].kernel.find("0x100001000 0000000 sdscan=1"), std::string::npos) << diffs[0].kernel;
  // The same pages' bit 55 agreed: without the key the logs would compare equal.
  obs_trace no_key = k;
  for (obs_op& op : no_key.ops)
    for (obs_pg& pg : op.pages) pg.sdscan = '-';
  EXPECT_TRUE(compare(m, no_key).empty());
}

TEST_F(kernel_compare, a_skipped_trace_is_not_compared_and_a_missing_one_is_a_difference) {
  obs_trace k = kernel_trace("basic.sdt");
  const obs_trace m = model_observe(load("basic.sdt"), *pol, k.range);
  k.st = obs_trace::status::skip;
  EXPECT_TRUE(compare(m, k).empty());
  k.st = obs_trace::status::missing;
  auto diffs = compare(m, k);
  ASSERT_FALSE(diffs.empty());
  EXPECT_EQ(diffs[0].what, "status");
}

TEST(kernel_compare_sigbus, the_model_refuses_the_pages_beyond_a_file_as_the_kernel_did) {
  // The real KUnit observer's output for memfd-beyond-eof.sdt: every `= SIGBUS` of the trace,
  // and the state after each operation, as the model computes them.
  auto pol = make_policy("upstream-6.12");
  const obs_boot boot =
      parse_observations(slurp(SDMC_SOURCE_DIR "/tests/data/ktap/kunit-memfd-beyond-eof.ktap"));
  ASSERT_EQ(boot.traces.size(), 1u);
  obs_trace k = boot.traces[0];
  ASSERT_EQ(k.st, obs_trace::status::ok);
  const trace::Trace t = trace::parse_file(SDMC_SOURCE_DIR "/kernel/tests/memfd-beyond-eof.sdt");
  const obs_trace m = model_observe(t, *pol, k.range);
  auto diffs = compare(m, k);
  EXPECT_TRUE(diffs.empty()) << "line " << diffs.front().line << " " << diffs.front().what
                             << "\nmodel:  " << diffs.front().model << "\nkernel: " << diffs.front().kernel;
  std::size_t sigbus = 0;
  for (const obs_op& op : k.ops) sigbus += op.result == "SIGBUS";
  EXPECT_EQ(sigbus, 15u);

  // A SIGBUS the kernel had reported as SIGSEGV is a difference at its line.
  obs_op* first = nullptr;
  for (obs_op& op : k.ops)
    if (op.result == "SIGBUS" && !first) first = &op;
  ASSERT_NE(first, nullptr);
  first->result = "SIGSEGV";
  diffs = compare(m, k);
  ASSERT_FALSE(diffs.empty());
  EXPECT_EQ(diffs[0].line, first->line);
  EXPECT_EQ(diffs[0].what, "result");
  EXPECT_EQ(diffs[0].model, "SIGBUS");
}

}  // namespace
}  // namespace sdmc::kdiff

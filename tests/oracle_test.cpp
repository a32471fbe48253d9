// The ghost oracle (sim/oracle.hpp) against the kernel's report: its three classes for pagemap
// bit 55 -- false negatives (stored to since clear_refs, still holding data, bit 55 reads 0),
// lost new mappings (mapped since clear_refs, bit 55 reads 0) and false positives (bit 55 reads
// 1, neither stored to nor newly mapped) -- on the section 2.5 sequences whose kernel
// behaviour produces each of them, and on a plain trace where the kernel is right.
// The bit values behind each count are those of kernel-6.12-semantics.md section 2.5.
#include "tests/scenario.hpp"

namespace sdmc::test {
namespace {

oracle_counts counts(u64 fn, u64 lost, u64 fp) {
  oracle_counts c;
  c.false_negatives = fn;
  c.lost_new_mappings = lost;
  c.false_positives = fp;
  return c;
}

TEST(oracle, a_plain_write_and_clear_refs_trace_has_no_error_of_any_class) {
  scenario s;
  s.run(R"(
mmap 0x100000000 8p --- private = 0x100000000
mmap 0x100001000 4p rw- private fixed = 0x100001000
write 0x100001000 2p = 0
expect sd 0x100001000 4p 1111
clear_refs = 0
expect sd 0x100001000 4p 0000
write 0x100002000 = 0
read 0x100003000 = 0
expect sd 0x100001000 4p 0100
epoch
clear_refs = 0
write 0x100001000 4p = 0
expect sd 0x100001000 4p 1111
)");
  s.finish();
  EXPECT_EQ(s.ghost.sd, counts(0, 0, 0));
  EXPECT_EQ(s.ghost.written, counts(0, 0, 0));
  EXPECT_TRUE(s.ghost.judge_sd(s.k).empty());
}

TEST(oracle, sequence_Bprime_is_a_false_negative) {
  // Section 2.5 B': the store to p[0] after the last clear_refs reads bit 55 = 0. p was also
  // mapped after that clear_refs and reads 0: one lost new mapping as well.
  scenario s;
  s.run(R"(
mmap 0x100000000 4p --- private = 0x100000000
mmap 0x100001000 1p r-- shared file=fd@0 fixed = 0x100001000
clear_refs = 0
mmap 0x100002000 1p rw- shared file=fd@1p fixed = 0x100002000
read 0x100002000 = 0
mprotect 0x100001000 1p rw- = 0
write 0x100002000 = 0
expect sd 0x100002000 1p 0
)");
  s.finish();
  EXPECT_EQ(s.ghost.sd, counts(1, 1, 0));
  judgement j = s.ghost.judge_sd(s.k);
  EXPECT_TRUE(boost::icl::contains(j.false_negatives, pfn(0x100002000)));
  EXPECT_TRUE(j.false_positives.empty());
}

TEST(oracle, sequence_A_is_a_lost_new_mapping) {
  // Section 2.5 A: the moved VMA lands at r+2ps and merges into the clean a: bit 55 = 0 on a
  // range that is new since clear_refs. Nothing was stored, nothing reads 1.
  scenario s;
  s.run(R"(
mmap 0x100000000 5p --- private = 0x100000000
mmap 0x100001000 1p rw- private fixed = 0x100001000
clear_refs = 0
mmap 0x100003000 1p rw- private fixed = 0x100003000
expect sd 0x100003000 1p 1
mremap 0x100003000 1p 1p maymove fixed 0x100002000 = 0x100002000
expect sd 0x100001000 2p 00
)");
  s.finish();
  EXPECT_EQ(s.ghost.sd, counts(0, 1, 0));
  judgement j = s.ghost.judge_sd(s.k);
  EXPECT_EQ(j.lost_new_mappings, pset(prange(pfn(0x100002000), pfn(0x100002000) + 1)));
}

TEST(oracle, sequence_D_is_a_false_positive_counted_once) {
  // Section 2.5 D: a reads 1 again after the merging mmap although it was not written.
  scenario s;
  s.run(R"(
mmap 0x100000000 4p --- private = 0x100000000
mmap 0x100001000 1p rw- private fixed = 0x100001000
write 0x100001000 = 0
clear_refs = 0
expect sd 0x100001000 1p 0
mmap 0x100002000 1p rw- private fixed = 0x100002000
expect sd 0x100001000 2p 11
epoch
expect sd 0x100001000 2p 11
)");
  s.finish();
  // Observed at three points (two expects, the epoch, the end), counted once per interval.
  EXPECT_EQ(s.ghost.sd, counts(0, 0, 1));
  judgement j = s.ghost.judge_sd(s.k);
  EXPECT_EQ(j.false_positives, pset(prange(pfn(0x100001000), pfn(0x100001000) + 1)));
  // After the next clear_refs the over-report is gone and nothing new is counted.
  s.run("clear_refs = 0\nexpect sd 0x100001000 2p 00");
  s.finish();
  EXPECT_EQ(s.ghost.sd, counts(0, 0, 1));
}

}  // namespace
}  // namespace sdmc::test

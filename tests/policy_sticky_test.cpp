// The sticky policy (upstream "mm: propagate VM_SOFTDIRTY on merge", Nov 2025) against the
// merge paths that lose VM_SOFTDIRTY in 6.12 (semantics 2.5): the same traces that show a lost
// new mapping or a false negative under upstream-6.12 show none under sticky, with the same
// VMA layout (sticky never changes what merges).
#include <gtest/gtest.h>

#include "model/policy.hpp"
#include "sim/replay.hpp"

namespace sdmc {
namespace {

struct outcome {
  oracle_counts counts;
  std::size_t vmas;
};

outcome replay_under(const std::string& policy_name, const std::string& file) {
  auto pol = make_policy(policy_name);
  trace::Trace t = trace::parse_file(SDMC_SOURCE_DIR "/traces/examples/" + file);
  replay_options opt;
  opt.expectations_are_failures = policy_name == "upstream-6.12";
  replayer r(t, *pol, opt);
  for (const trace::Line& l : t.lines) r.step(l);
  r.finish();
  EXPECT_TRUE(r.failures.empty()) << file << " under " << policy_name;
  return {r.ghost.sd, r.k.mm.map_count()};
}

class sticky_merge : public ::testing::TestWithParam<const char*> {};

TEST_P(sticky_merge, keeps_what_upstream_loses) {
  const outcome up = replay_under("upstream-6.12", GetParam());
  const outcome st = replay_under("sticky", GetParam());
  // upstream-6.12 loses the flag on this merge path: the check can fail.
  EXPECT_GT(up.counts.false_negatives + up.counts.lost_new_mappings, 0u) << GetParam();
  EXPECT_EQ(st.counts.false_negatives, 0u) << GetParam();
  EXPECT_EQ(st.counts.lost_new_mappings, 0u) << GetParam();
  EXPECT_EQ(st.vmas, up.vmas) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(sequences, sticky_merge,
                         ::testing::Values("seqA-mremap-move-loses-sd.sdt",
                                           "seqB-mprotect-merge.sdt",
                                           "seqBprime-shmem-lost-write.sdt",
                                           "seqC-madvise-stale-prot.sdt"));

TEST(sticky, a_merge_ors_the_soft_dirty_flag_of_every_participant) {
  auto pol = make_policy("sticky");
  vma_value clean, dirty;
  dirty.vm_flags = VM_SOFTDIRTY;
  const vma_value parts[] = {clean, dirty};
  for (merge_path p : {merge_path::mprotect, merge_path::madvise, merge_path::mlock,
                       merge_path::uffd, merge_path::mremap_move, merge_path::mremap_expand})
    EXPECT_TRUE(pol->merged_flags(p, VM_READ, parts) & VM_SOFTDIRTY);
  const vma_value none[] = {clean, clean};
  EXPECT_FALSE(pol->merged_flags(merge_path::mprotect, VM_READ, none) & VM_SOFTDIRTY);
  // upstream-6.12 keeps whatever the merge path left.
  EXPECT_FALSE(make_policy("upstream-6.12")->merged_flags(merge_path::mprotect, VM_READ, parts) &
               VM_SOFTDIRTY);
}

}  // namespace
}  // namespace sdmc

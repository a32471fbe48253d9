// main() of the property tests: GoogleTest, with RapidCheck's seed fixed unless RC_PARAMS is
// set (1000 cases per property), so that a ctest run is reproducible; RC_PARAMS="seed=N"
// explores another part, RC_PARAMS="seed=N max_success=M" longer.
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  if (!std::getenv("RC_PARAMS")) setenv("RC_PARAMS", "seed=1 max_success=1000", 0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

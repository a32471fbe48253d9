// The ctest `kernel_layout` (label kernel): re-measures the kernel structure sizes with
// kernel/vma-size.sh (pahole over Debian's amd64 6.12 build) and fails unless every one equals
// its constant in model/kernel_layout.hpp.
//
//   check_layout [KERNEL_DIR]     exit 0 all equal, 1 a size differs, 2 the measurement failed
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <string>
#include <sys/wait.h>

#include "model/kernel_layout.hpp"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : SDMC_SOURCE_DIR "/kernel";
  const std::string cmd = fmt::format("'{}/vma-size.sh' --install --quiet", dir);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    fmt::print(stderr, "check_layout: cannot run {}\n", cmd);
    return 2;
  }
  std::map<std::string, std::size_t> measured;
  char name[64];
  std::size_t bytes = 0;
  while (std::fscanf(p, "%63s %zu", name, &bytes) == 2) measured[name] = bytes;
  const int rc = pclose(p);
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    fmt::print(stderr, "check_layout: {} failed (status {}); its error is above\n", cmd,
               WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    return 2;
  }
  const std::map<std::string, std::size_t> expected{
      {"vm_area_struct", sdmc::kernel_layout::vm_area_struct},
      {"list_head", sdmc::kernel_layout::list_head},
      {"non_sd_reg", sdmc::kernel_layout::non_sd_reg},
  };
  int status = 0;
  for (const auto& [s, want] : expected) {
    auto it = measured.find(s);
    if (it == measured.end()) {
      fmt::print("struct {}: not in the output of vma-size.sh\n", s);
      status = 2;
    } else if (it->second != want) {
      fmt::print("struct {}: model/kernel_layout.hpp says {} bytes, pahole measured {}\n", s, want,
                 it->second);
      if (status == 0) status = 1;
    } else {
      fmt::print("struct {}: {} bytes, as measured\n", s, want);
    }
  }
  return status;
}

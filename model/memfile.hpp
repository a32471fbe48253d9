// A memory file (memfd, i.e. shmem; also the private shmem file behind each MAP_SHARED|
// MAP_ANONYMOUS mapping, mm/shmem.c:shmem_zero_setup). Only what soft-dirty needs: which pages
// are in the page cache (fault-around maps those), which are in swap, and which were written.
#pragma once

#include <cstdint>
#include <string>

#include "model/types.hpp"

namespace sdmc {

struct memfile {
  std::string name;          // trace name; "" for a shared-anon mapping's file
  std::uint64_t size_pages = 0;
  bool shared_anon = false;
  pset cached;               // page indices in the page cache
  pset swapped;              // page indices whose content lives in swap (shmem swap-out)
  pset written;              // page indices whose content was ever stored to (ghost, for props)
  bool operator==(const memfile&) const = default;
};

}  // namespace sdmc

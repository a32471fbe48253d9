// A memory file (memfd, i.e. shmem; also the private shmem file behind each MAP_SHARED|
// MAP_ANONYMOUS mapping, mm/shmem.c:shmem_zero_setup). Only what soft-dirty needs: which pages
// are in the page cache (fault-around maps those) and whether their folio is dirty (reclaim
// writes a dirty shmem folio to swap and drops a clean one), which are in swap, and which hold
// data that was written.
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
  pset dirty;                // ... whose page-cache folio is dirty (PG_dirty); a subset of cached
  pset swapped;              // page indices whose content lives in swap (shmem swap-out)
  // Ghost, for the properties: page indices holding data stored through a shared mapping since
  // the page was last zeroed (a hole punched). Such a page must stay in `cached` or `swapped`.
  pset written;
  bool operator==(const memfile&) const = default;
};

}  // namespace sdmc

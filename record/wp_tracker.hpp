// Write tracking of another process with userfaultfd write-protect in async mode and the
// PAGEMAP_SCAN ioctl (Documentation/admin-guide/mm/pagemap.rst, .../userfaultfd.rst): a store to
// a write-protected page clears the protection without any userspace fault handling, and
// PAGEMAP_SCAN with PM_SCAN_WP_MATCHING reports the pages that lost it (PAGE_IS_WRITTEN) and
// protects them again, in one call.
//
// The userfaultfd belongs to the recorded process's mm (fs/userfaultfd.c:new_userfaultfd takes
// current->mm); every ioctl below acts on ctx->mm, so the recorder can drive it from outside.
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "record/layout.hpp"

namespace sdmc::record {

struct page_run {
  std::uint64_t start = 0, end = 0;  // byte addresses, page-aligned
  std::uint64_t categories = 0;      // PAGE_IS_* of every page in the run
};

class wp_tracker {
 public:
  wp_tracker() = default;
  // Takes ownership of both descriptors. Negotiates UFFD_FEATURE_WP_ASYNC |
  // UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_EVENT_REMAP and starts the thread that reads the
  // context's events; on failure returns false and sets `error`.
  //
  // EVENT_REMAP: without it mm/mremap.c:move_vma -> mremap_userfaultfd_prep ->
  // userfaultfd_reset_ctx unregisters the whole VMA holding an mremap's destination, a tracked
  // neighbour that copy_vma merged it into included, whose stores then went unrecorded
  // (docs/designs.md, the uffd-wp design's finding). With it the registration and the moved
  // uffd-wp bits stay (move_ptes), and the mremap waits in userfaultfd_event_wait_completion
  // until its UFFD_EVENT_REMAP message is read: by the reader thread, since the recorder itself
  // is waiting for the tracee.
  bool open(int uffd, int pagemap_fd, std::string& error);
  ~wp_tracker();
  wp_tracker(const wp_tracker&) = delete;
  wp_tracker& operator=(const wp_tracker&) = delete;

  // UFFDIO_REGISTER in write-protect mode, then UFFDIO_WRITEPROTECT over the range, so that with
  // WP_UNPOPULATED even pages never touched carry a marker. Returns 0 or the errno.
  int track(range r);
  // UFFDIO_WRITEPROTECT again (after a zap dropped the markers of anonymous pages).
  int protect(range r);
  // One walk over `r`, which must be all registered: the present pages, and the pages written
  // since the last take (PAGE_IS_WRITTEN), which it write-protects again (PM_SCAN_WP_MATCHING;
  // fs/proc/task_mmu.c:pagemap_scan_pmd_entry re-protects only the written ones).
  // PM_SCAN_CHECK_WPASYNC makes a range that is not registered an error (EPERM), not a silent
  // skip. Returns 0 or the errno.
  int take(range r, std::vector<page_run>& out);
  // Present pages of `r` in VMAs that are not registered (registered ones are skipped whole:
  // category PAGE_IS_WPALLOWED inverted). Returns 0 or the errno.
  int present_untracked(range r, std::vector<page_run>& out);
  // Pages of `r` in `category`, reporting `report` bits, no write-protection change.
  int scan(range r, std::uint64_t category, std::uint64_t report, std::vector<page_run>& out);

  bool active() const { return uffd_ >= 0; }

 private:
  struct query {
    std::uint64_t flags = 0, category = 0, inverted = 0, anyof = 0, report = 0;
  };
  int pagemap_scan(range r, const query& q, std::vector<page_run>& out);
  void read_events();
  int uffd_ = -1, pagemap_ = -1;
  int stop_ = -1;  // eventfd: the reader thread's signal to end
  std::thread reader_;
};

}  // namespace sdmc::record

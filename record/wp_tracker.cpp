#include "record/wp_tracker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "record/uapi.hpp"

namespace sdmc::record {

bool wp_tracker::open(int uffd, int pagemap_fd, std::string& error) {
  uffd_ = uffd;
  pagemap_ = pagemap_fd;
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_EVENT_REMAP;
  if (ioctl(uffd_, UFFDIO_API, &api) != 0) {
    error = std::string("UFFDIO_API with UFFD_FEATURE_WP_ASYNC|UFFD_FEATURE_WP_UNPOPULATED|"
                        "UFFD_FEATURE_EVENT_REMAP: ") +
            std::strerror(errno) + " (needs Linux 6.7 or later)";
    return false;
  }
  // fs/userfaultfd.c:userfaultfd_poll answers EPOLLERR for a blocking descriptor.
  const int fl = fcntl(uffd_, F_GETFL);
  if (fl < 0 || fcntl(uffd_, F_SETFL, fl | O_NONBLOCK) != 0) {
    error = std::string("O_NONBLOCK on the userfaultfd: ") + std::strerror(errno);
    return false;
  }
  stop_ = eventfd(0, EFD_CLOEXEC);
  if (stop_ < 0) {
    error = std::string("eventfd for the userfaultfd reader: ") + std::strerror(errno);
    return false;
  }
  // The thread takes no signal: the recorder reads SIGCHLD and the rest from a signalfd, which
  // sees only signals that no thread with them unblocked has taken.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  reader_ = std::thread([this] { read_events(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return true;
}

// Reads (and drops) the context's messages until the destructor signals `stop_`: with only
// EVENT_REMAP asked for (and async write-protect, which never faults to userspace), every
// message is a UFFD_EVENT_REMAP, and reading it is what lets the tracee's mremap return
// (fs/userfaultfd.c:userfaultfd_ctx_read -> userfaultfd_event_complete).
void wp_tracker::read_events() {
  for (;;) {
    pollfd fds[2] = {{uffd_, POLLIN, 0}, {stop_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    uffd_msg msg[16];
    if (::read(uffd_, msg, sizeof msg) < 0 && errno != EINTR && errno != EAGAIN) return;
  }
}

wp_tracker::~wp_tracker() {
  if (reader_.joinable()) {
    const std::uint64_t one = 1;
    if (::write(stop_, &one, sizeof one) != sizeof one) reader_.detach();  // cannot happen
    else reader_.join();
  }
  if (stop_ >= 0) ::close(stop_);
  if (uffd_ >= 0) ::close(uffd_);
  if (pagemap_ >= 0) ::close(pagemap_);
}

int wp_tracker::track(range r) {
  uffdio_register reg{};
  reg.range.start = r.start;
  reg.range.len = r.end - r.start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (ioctl(uffd_, UFFDIO_REGISTER, &reg) != 0) return errno;
  return protect(r);
}

int wp_tracker::protect(range r) {
  uffdio_writeprotect wp{};
  wp.range.start = r.start;
  wp.range.len = r.end - r.start;
  wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
  return ioctl(uffd_, UFFDIO_WRITEPROTECT, &wp) == 0 ? 0 : errno;
}

int wp_tracker::pagemap_scan(range r, const query& q, std::vector<page_run>& out) {
  page_region vec[512];
  std::uint64_t start = r.start;
  while (start < r.end) {
    pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.flags = q.flags;
    arg.start = start;
    arg.end = r.end;
    arg.vec = reinterpret_cast<std::uint64_t>(vec);
    arg.vec_len = sizeof vec / sizeof vec[0];
    arg.category_mask = q.category;
    arg.category_inverted = q.inverted;
    arg.category_anyof_mask = q.anyof;
    arg.return_mask = q.report;
    long n = ioctl(pagemap_, PAGEMAP_SCAN, &arg);
    if (n < 0) return errno;
    for (long i = 0; i < n; ++i) {
      if (!out.empty() && out.back().end == vec[i].start && out.back().categories == vec[i].categories)
        out.back().end = vec[i].end;
      else
        out.push_back({vec[i].start, vec[i].end, vec[i].categories});
    }
    // walk_end < end: the vector filled up; the pages after walk_end are untouched (not yet
    // write-protected either), so the next call resumes there.
    if (arg.walk_end <= start) return EIO;
    start = arg.walk_end;
  }
  return 0;
}

int wp_tracker::take(range r, std::vector<page_run>& out) {
  query q;
  q.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
  q.anyof = q.report = PAGE_IS_PRESENT | PAGE_IS_WRITTEN;
  return pagemap_scan(r, q, out);
}

int wp_tracker::present_untracked(range r, std::vector<page_run>& out) {
  query q;
  q.category = PAGE_IS_PRESENT | PAGE_IS_WPALLOWED;
  q.inverted = PAGE_IS_WPALLOWED;
  q.report = PAGE_IS_PRESENT;
  return pagemap_scan(r, q, out);
}

int wp_tracker::scan(range r, std::uint64_t category, std::uint64_t report,
                     std::vector<page_run>& out) {
  query q;
  q.category = category;
  q.report = report;
  return pagemap_scan(r, q, out);
}

}  // namespace sdmc::record

#include "record/layout.hpp"

#include <algorithm>

#include "traces/sdtrace.hpp"

namespace sdmc::record {

namespace {
std::uint64_t page_up(std::uint64_t v) {
  return (v + trace::kPageSize - 1) & ~(trace::kPageSize - 1);
}
}  // namespace

void layout::split_at(std::uint64_t addr) {
  auto it = segs_.upper_bound(addr);
  if (it == segs_.begin()) return;
  --it;
  if (it->first >= addr || it->second.end <= addr) return;
  segment tail = it->second;
  it->second.end = addr;
  segs_.emplace(addr, tail);
}

void layout::unmap(std::uint64_t start, std::uint64_t end) {
  if (start >= end) return;
  split_at(start);
  split_at(end);
  segs_.erase(segs_.lower_bound(start), segs_.lower_bound(end));
}

void layout::map(std::uint64_t start, std::uint64_t end, segment s) {
  unmap(start, end);
  if (start >= end) return;
  s.end = end;
  segs_.emplace(start, s);
}

void layout::protect(std::uint64_t start, std::uint64_t end, std::uint8_t prot) {
  split_at(start);
  split_at(end);
  for (auto it = segs_.lower_bound(start); it != segs_.end() && it->first < end; ++it)
    it->second.prot = prot;
}

void layout::set_registered(std::uint64_t start, std::uint64_t end, bool on) {
  split_at(start);
  split_at(end);
  for (auto it = segs_.lower_bound(start); it != segs_.end() && it->first < end; ++it)
    it->second.registered = on;
}

void layout::move(std::uint64_t old, std::uint64_t old_len, std::uint64_t to, std::uint64_t new_len,
                  bool dontunmap) {
  old_len = page_up(old_len);
  new_len = page_up(new_len);
  // mm/mremap.c: old_len == 0 duplicates a shared mapping; the source stays.
  std::vector<std::pair<std::uint64_t, segment>> copied;
  const std::uint64_t keep = old_len == 0 ? new_len : std::min(old_len, new_len);
  split_at(old);
  split_at(old + keep);
  for (auto it = segs_.lower_bound(old); it != segs_.end() && it->first < old + keep; ++it)
    copied.emplace_back(it->first - old, it->second);
  if (copied.empty()) return;
  if (old_len != 0 && new_len < old_len) unmap(old + new_len, old + old_len);
  if (to == old) {
    // Growth in place: mm/mremap.c:vma_expandable, the last VMA gets longer.
    if (new_len > old_len) {
      segment last = copied.back().second;
      last.registered = false;  // the new tail carries no uffd-wp markers yet
      map(old + old_len, old + new_len, last);
    }
    return;
  }
  if (old_len != 0 && !dontunmap) unmap(old, old + std::min(old_len, new_len));
  unmap(to, to + new_len);
  for (auto& [offset, s] : copied) {
    segment c = s;
    c.end = to + (s.end - old);
    // The recorder's context has UFFD_FEATURE_EVENT_REMAP (record/wp_tracker.hpp), so
    // mm/mremap.c:mremap_userfaultfd_prep keeps the moved VMA registered and move_ptes keeps
    // its uffd-wp bits and markers: the moved range is as tracked as its source was.
    c.stack = false;
    segs_.emplace(to + offset, c);
  }
  if (new_len > keep) {
    segment last = copied.back().second;
    last.registered = false;
    last.stack = false;
    map(to + keep, to + new_len, last);
  }
}

std::optional<std::pair<std::uint64_t, segment>> layout::find(std::uint64_t addr) const {
  auto it = segs_.upper_bound(addr);
  if (it == segs_.begin()) return std::nullopt;
  --it;
  if (addr >= it->second.end) return std::nullopt;
  return *it;
}

std::vector<range> layout::to_register(std::uint64_t start, std::uint64_t end) const {
  std::vector<range> out;
  auto it = segs_.upper_bound(start);
  if (it != segs_.begin()) --it;
  for (; it != segs_.end() && it->first < end; ++it) {
    const segment& s = it->second;
    if (s.end <= start || !s.registrable || s.registered || !(s.prot & trace::PROT_W)) continue;
    range r{std::max(it->first, start), std::min(s.end, end)};
    if (!out.empty() && out.back().end == r.start) out.back().end = r.end;
    else out.push_back(r);
  }
  return out;
}

std::vector<range> layout::registered(std::uint64_t start, std::uint64_t end) const {
  std::vector<range> out;
  auto it = segs_.upper_bound(start);
  if (it != segs_.begin()) --it;
  for (; it != segs_.end() && it->first < end; ++it) {
    const segment& s = it->second;
    if (s.end <= start || !s.registered) continue;
    range r{std::max(it->first, start), std::min(s.end, end)};
    if (!out.empty() && out.back().end == r.start) out.back().end = r.end;
    else out.push_back(r);
  }
  return out;
}

std::optional<range> layout::stack_window() const {
  for (auto it = segs_.begin(); it != segs_.end(); ++it) {
    if (!it->second.stack) continue;
    std::uint64_t below = 0;
    if (it != segs_.begin()) below = std::prev(it)->second.end;
    return range{below, it->first};
  }
  return std::nullopt;
}

void layout::grow_stack(std::uint64_t new_start) {
  for (auto it = segs_.begin(); it != segs_.end(); ++it) {
    if (!it->second.stack || new_start >= it->first) continue;
    segment s = it->second;
    segs_.erase(it);
    segs_.emplace(new_start, s);
    return;
  }
}

std::vector<range> layout::scan_ranges() const {
  std::vector<range> out = registered(0, ~0ull);
  // The gap below the stack is scanned with the stack: a fault there extends the stack VMA,
  // registered pages and all (mm/mmap.c:expand_downwards keeps vm_userfaultfd_ctx).
  for (auto& [start, s] : segs_) {
    if (!s.stack || !s.registered) continue;
    auto w = stack_window();
    for (range& r : out)
      if (r.start == start) r.start = w->start;
  }
  return out;
}

}  // namespace sdmc::record

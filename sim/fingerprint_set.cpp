#include "sim/fingerprint_set.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace sdmc {

namespace {
std::string broken_hash() {
  return "visited set: a run of more than " + std::to_string(fingerprint_set::tail) +
         " fingerprints on neighbouring slots in a table under an eighth full (the state hash is broken)";
}

// Room for tables up to 2^33 home slots (4 G states at half load, the explorer's limit): 128 GiB
// of address space, none of it memory until made writable.
constexpr unsigned max_log2_home = 33;
}  // namespace

huge_region fingerprint_set::reserve(std::size_t home) {
  huge_region r(bytes(std::max(home, std::size_t(1) << max_log2_home)), "visited set");
  r.commit(bytes(home));  // zero-filled: all empty
  return r;
}

fingerprint_set::fingerprint_set(unsigned log2_slots)
    : region_(reserve(std::size_t(1) << log2_slots)),
      slots_(static_cast<fingerprint128*>(region_.data())),
      mask_((std::size_t(1) << log2_slots) - 1) {}

int fingerprint_set::place(fingerprint128* t, std::size_t mask, const fingerprint128& fp) {
  const std::size_t end = mask + 1 + tail;
  for (std::size_t i = fp.lo & mask; i < end; ++i) {
    if (t[i] == fp) return 0;
    if (empty(t[i])) {
      t[i] = fp;
      ++size_;
      return 1;
    }
  }
  return -1;
}

bool fingerprint_set::insert(fingerprint128 fp) {
  if (empty(fp)) fp.lo = 1;
  if (2 * (size_ + 1) > mask_ + 1) grow();
  for (;;) {
    const int r = place(slots_, mask_, fp);
    if (r >= 0) return r;
    // A probe ran off the tail: a cluster longer than the tail. Doubling spreads fingerprints
    // whose low bits differ; ones whose low 64 bits are all equal never spread.
    if (8 * size_ < mask_ + 1)
      throw std::length_error(broken_hash());
    grow();
  }
}

bool fingerprint_set::contains(fingerprint128 fp) const {
  if (empty(fp)) fp.lo = 1;
  for (std::size_t i = fp.lo & mask_; i < mask_ + 1 + tail; ++i) {
    if (slots_[i] == fp) return true;
    if (empty(slots_[i])) return false;
  }
  return false;
}

void fingerprint_set::grow() {
  const std::size_t n = mask_ + 1, doubled = 2 * n;
  region_.commit(bytes(doubled));
  // The old tail's entries sit on home slots of the new upper half: out of the way first.
  fingerprint128 spill[tail + 1];
  std::size_t nspill = 0;
  for (std::size_t i = n; i < n + tail; ++i)
    if (!empty(slots_[i])) {
      spill[nspill++] = slots_[i];
      slots_[i] = {};
      --size_;
    }
  mask_ = doubled - 1;
  // Home slots in order. An entry's new home is its old one or that plus n: from its old home
  // the probe ends at or before where it was (everything before it is rehashed already and it
  // left its own slot empty); in the upper half it meets rehashed entries only.
  for (std::size_t i = 0; i < n; ++i) {
    if (empty(slots_[i])) continue;
    const fingerprint128 fp = slots_[i];
    slots_[i] = {};
    --size_;
    if (place(slots_, mask_, fp) < 0) {  // off the new tail: start over in a fresh table
      spill[nspill++] = fp;
      return rebuild(2 * doubled, spill, nspill);
    }
  }
  for (std::size_t k = 0; k < nspill; ++k)
    if (place(slots_, mask_, spill[k]) < 0) return rebuild(2 * doubled, spill + k, nspill - k);
}

void fingerprint_set::rebuild(std::size_t home, const fingerprint128* extra, std::size_t nextra) {
  const std::size_t have = size_ + nextra;
  for (;; home *= 2) {
    if (home > 8 * (have + 1))
      throw std::length_error(broken_hash());
    huge_region fresh = reserve(home);
    fingerprint128* t = static_cast<fingerprint128*>(fresh.data());
    size_ = 0;
    bool ok = true;
    for (std::size_t i = 0; ok && i < mask_ + 1 + tail; ++i)
      if (!empty(slots_[i])) ok = place(t, home - 1, slots_[i]) >= 0;
    for (std::size_t i = 0; ok && i < nextra; ++i) ok = place(t, home - 1, extra[i]) >= 0;
    if (!ok) {
      size_ = have - nextra;
      continue;
    }
    region_ = std::move(fresh);
    slots_ = t;
    mask_ = home - 1;
    return;
  }
}

}  // namespace sdmc

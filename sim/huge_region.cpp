#include "sim/huge_region.hpp"

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include <sys/mman.h>

namespace sdmc {

namespace {
constexpr std::size_t huge = std::size_t(2) << 20;  // a PMD: what a transparent huge page maps
constexpr std::size_t round_up(std::size_t x) { return (x + huge - 1) & ~(huge - 1); }
}  // namespace

huge_region::huge_region(std::size_t reserve_bytes, const char* what)
    : reserved_(round_up(reserve_bytes)), what_(what) {
  // PROT_NONE and not accounted: address space only. Over-reserved by a PMD and trimmed, so
  // that the array starts on a huge-page boundary (the kernel aligns only some mappings).
  void* p = mmap(nullptr, reserved_ + huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto at = reinterpret_cast<std::uintptr_t>(p), aligned = (at + huge - 1) & ~std::uintptr_t(huge - 1);
  if (aligned > at) munmap(p, aligned - at);
  munmap(reinterpret_cast<void*>(aligned + reserved_), huge - (aligned - at));
  base_ = reinterpret_cast<void*>(aligned);
}

void huge_region::release() noexcept {
  if (base_) munmap(base_, reserved_);
  base_ = nullptr;
  reserved_ = writable_ = 0;
}

void huge_region::commit(std::size_t bytes) {
  const std::size_t want = round_up(bytes);
  if (want <= writable_) return;
  if (want > reserved_)
    throw std::length_error(std::string(what_) + ": more than " + std::to_string(reserved_ >> 20) +
                            " MiB (the address space reserved for it)");
  char* from = static_cast<char*>(base_) + writable_;
  if (mprotect(from, want - writable_, PROT_READ | PROT_WRITE) != 0) throw std::bad_alloc();
  madvise(from, want - writable_, MADV_HUGEPAGE);  // advice: without THP it is ignored
  writable_ = want;
}

}  // namespace sdmc

// Memory for the explorer's big arrays: a range of address space reserved up front (PROT_NONE,
// not accounted, 2 MiB aligned) whose prefix is made writable as the array grows, asked for in
// transparent huge pages. Nothing ever moves, so growing copies nothing, and the kernel faults
// a 2 MiB page at a time: with std::vector's doubling in 4 KiB pages, the page faults of the
// frontier's growth were a tenth of a small window's CPU time (docs/performance.md).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace sdmc {

class huge_region {
 public:
  huge_region() = default;
  // `what` names the array in the error thrown when it outgrows `reserve_bytes`.
  huge_region(std::size_t reserve_bytes, const char* what);
  ~huge_region() { release(); }
  huge_region(huge_region&& o) noexcept { swap(o); }
  huge_region& operator=(huge_region&& o) noexcept {
    huge_region(std::move(o)).swap(*this);
    return *this;
  }
  void swap(huge_region& o) noexcept {
    std::swap(base_, o.base_);
    std::swap(reserved_, o.reserved_);
    std::swap(writable_, o.writable_);
    std::swap(what_, o.what_);
  }

  void* data() const { return base_; }
  std::size_t writable() const { return writable_; }
  // Makes the first `bytes` writable (zero-filled where new), rounded up to a huge page;
  // std::length_error past the reservation.
  void commit(std::size_t bytes);

 private:
  void release() noexcept;
  void* base_ = nullptr;
  std::size_t reserved_ = 0, writable_ = 0;
  const char* what_ = "";
};

// A growable array of trivially copyable T in a huge_region: push_back, index, clear (which
// keeps the memory for the next level of the search), swap.
template <class T>
class huge_vector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  huge_vector(std::size_t max_elements, const char* what) : r_(max_elements * sizeof(T), what) {}
  huge_vector(huge_vector&& o) noexcept { swap(o); }
  huge_vector& operator=(huge_vector&& o) noexcept {
    swap(o);
    return *this;
  }
  void swap(huge_vector& o) noexcept {
    r_.swap(o.r_);
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(cap_, o.cap_);
  }

  void push_back(const T& v) {
    if (n_ == cap_) grow();
    p_[n_++] = v;
  }
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }
  std::size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  void clear() { n_ = 0; }

 private:
  void grow() {
    r_.commit(cap_ ? 2 * cap_ * sizeof(T) : sizeof(T));
    p_ = static_cast<T*>(r_.data());
    cap_ = r_.writable() / sizeof(T);
  }
  huge_region r_;
  T* p_ = nullptr;
  std::size_t n_ = 0, cap_ = 0;
};

}  // namespace sdmc

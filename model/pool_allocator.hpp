// A free-list allocator for the nodes of the interval containers. The model creates and
// destroys tree nodes at a high rate (every split, merge, fault and oracle judgement); recycling
// them per thread instead of going through malloc is what keeps replay above 3 M operations/s
// (bench/replay_bench.cpp). Blocks stay on the free list of the thread that freed them and are
// reachable from it, so leak checkers see no leak.
#pragma once

#include <cstddef>
#include <new>

namespace sdmc {

namespace detail {
// One free list per block size and thread.
template <std::size_t Size>
struct node_pool {
  static void*& head() {
    thread_local void* list = nullptr;
    return list;
  }
};
}  // namespace detail

template <class T>
struct pool_allocator {
  using value_type = T;
  static constexpr std::size_t block = sizeof(T) < sizeof(void*) ? sizeof(void*) : sizeof(T);

  pool_allocator() noexcept = default;
  template <class U>
  pool_allocator(const pool_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n == 1) {
      void*& head = detail::node_pool<block>::head();
      if (void* p = head) {
        head = *static_cast<void**>(p);
        return static_cast<T*>(p);
      }
      return static_cast<T*>(::operator new(block));
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n == 1) {
      void*& head = detail::node_pool<block>::head();
      *reinterpret_cast<void**>(p) = head;
      head = p;
      return;
    }
    ::operator delete(p);
  }
  template <class U>
  bool operator==(const pool_allocator<U>&) const noexcept { return true; }
};

}  // namespace sdmc

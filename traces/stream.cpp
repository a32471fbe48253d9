#include "traces/stream.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace sdmc::trace {

void parse_streamed(std::string_view text, const std::string& filename, std::size_t batch,
                    const std::function<void(const Trace&, const std::vector<Line>&)>& consume) {
  // Batches travel through a bounded queue; consumed vectors go back to be refilled, so the
  // steady state allocates nothing.
  constexpr std::size_t kInFlight = 4;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<Line>> full, empty;
  Trace headers;  // path, kernel, swap: known once the first batch is read
  bool have_headers = false, done = false, stop = false;
  std::exception_ptr error;

  std::thread producer([&] {
    try {
      reader r(text, filename);
      for (;;) {
        std::vector<Line> b;
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return stop || full.size() < kInFlight; });
          if (stop) break;
          if (!empty.empty()) {
            b = std::move(empty.front());
            empty.pop_front();
          }
        }
        const bool more = r.read(b, batch);
        std::lock_guard lk(mu);
        if (!more) break;
        if (!have_headers) {
          headers = r.headers();
          have_headers = true;
        }
        full.push_back(std::move(b));
        cv.notify_all();
      }
    } catch (...) {
      std::lock_guard lk(mu);
      error = std::current_exception();
    }
    std::lock_guard lk(mu);
    done = true;
    cv.notify_all();
  });

  // Stops and joins the producer however this function is left.
  struct joiner {
    std::thread& t;
    std::mutex& mu;
    std::condition_variable& cv;
    bool& stop;
    ~joiner() {
      {
        std::lock_guard lk(mu);
        stop = true;
      }
      cv.notify_all();
      t.join();
    }
  } join{producer, mu, cv, stop};

  Trace h;
  bool first = true;
  for (;;) {
    std::vector<Line> b;
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return !full.empty() || done; });
      if (full.empty()) break;  // done, and everything before it consumed
      b = std::move(full.front());
      full.pop_front();
      if (first) h = headers;
      first = false;
      cv.notify_all();
    }
    consume(h, b);
    std::lock_guard lk(mu);
    empty.push_back(std::move(b));
  }
  std::exception_ptr e;
  {
    std::lock_guard lk(mu);
    e = error;
  }
  if (e) std::rethrow_exception(e);
}

}  // namespace sdmc::trace

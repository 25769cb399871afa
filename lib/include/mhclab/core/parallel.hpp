#pragma once
// Deterministic parallel loop: f(k) for k = 0..count−1 on `threads` std::threads (0 = all cores), each
// thread taking a contiguous block. Callers write results by index, so output never depends on the thread
// count. The first exception thrown by any f(k) is rethrown on the calling thread.
#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// Resolves a requested thread count: 0 → hardware concurrency (at least 1).
[[nodiscard]] inline int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

template <class F>
void parallel_for(Index count, int threads, F&& f) {
  const int t = static_cast<int>(std::min<Index>(resolve_threads(threads), std::max<Index>(count, 1)));
  if (t <= 1) {
    for (Index k = 0; k < count; ++k) f(k);
    return;
  }
  std::exception_ptr error;
  std::mutex mu;
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(t));
  for (int w = 0; w < t; ++w) {
    const Index begin = count * w / t, end = count * (w + 1) / t;
    pool.emplace_back([&, begin, end] {
      try {
        for (Index k = begin; k < end; ++k) f(k);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace mhclab

#pragma once
// Deterministic parallel loop: f(k) for k = 0..count−1 on `threads` std::threads (0 = all cores). Indices are
// handed out in increasing order, in runs of `grain` consecutive indices (0 = about count / (64·threads), at least
// 1; pass 1 when each index is a large piece of work whose results are passed on in order), to whichever thread is
// free: work of uneven cost balances, and an index's results can be passed on in order with
// InOrder below after waiting only for the few indices still running before it. Callers write results by index, so
// output never depends on the thread count. The first exception thrown by any f(k) is rethrown on the calling
// thread (the other threads take no new index after it).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
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
void parallel_for(Index count, int threads, F&& f, Index grain = 0) {
  const int t = static_cast<int>(std::min<Index>(resolve_threads(threads), std::max<Index>(count, 1)));
  if (t <= 1) {
    for (Index k = 0; k < count; ++k) f(k);
    return;
  }
  std::exception_ptr error;
  std::mutex mu;
  std::atomic<Index> next{0};
  std::atomic<bool> failed{false};
  if (grain <= 0) grain = std::max<Index>(1, count / (64 * static_cast<Index>(t)));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(t));
  for (int w = 0; w < t; ++w) {
    pool.emplace_back([&] {
      try {
        for (Index k0 = next.fetch_add(grain); k0 < count && !failed.load(); k0 = next.fetch_add(grain))
          for (Index k = k0; k < std::min(count, k0 + grain); ++k) f(k);
      } catch (...) {
        failed.store(true);
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

/// Passes items submitted concurrently for the indices 0, 1, 2, … to `consume` one at a time, in index order
/// (e.g. blocks of rows rendered on parallel_for's threads, written to one file). submit() is thread-safe: an item
/// that arrives before its predecessors is kept until they are consumed, and whichever thread finds the next index
/// ready consumes it and every later one already waiting, outside the lock, while the others go on computing.
/// Memory is bounded by `window`: submit(index) waits while index ≥ (next index to consume) + window, so at most
/// `window` items are held (the thread owning the next index never waits; window ≥ 2·threads keeps every thread
/// busy). If `consume` throws, that submit() rethrows and later items are dropped. A producer that fails before
/// submitting its index must call abort() (e.g. in a catch before rethrowing), which releases every waiting submit()
/// and drops later items; otherwise the threads waiting for that index would wait forever.
template <class T>
class InOrder {
 public:
  explicit InOrder(std::function<void(T&)> consume, std::size_t window = 0)
      : consume_(std::move(consume)), window_(window) {}

  void submit(std::size_t index, T item) {
    std::unique_lock<std::mutex> lock(mu_);
    if (window_ > 0) turn_.wait(lock, [&] { return stopped_ || index < next_ + window_; });
    if (stopped_) return;
    pending_.emplace(index, std::move(item));
    if (draining_) return;  // the draining thread will reach it
    draining_ = true;
    while (!stopped_ && !pending_.empty() && pending_.begin()->first == next_) {
      T x = std::move(pending_.begin()->second);
      pending_.erase(pending_.begin());
      lock.unlock();
      try {
        consume_(x);
      } catch (...) {
        lock.lock();
        stop_locked();
        draining_ = false;
        throw;
      }
      lock.lock();
      ++next_;
      turn_.notify_all();
    }
    draining_ = false;
  }

  /// Stops: waiting and later submits return at once, their items dropped.
  void abort() {
    const std::lock_guard<std::mutex> lock(mu_);
    stop_locked();
  }

  /// Items consumed so far (after the loop: every index, unless one failed).
  [[nodiscard]] std::size_t consumed() {
    const std::lock_guard<std::mutex> lock(mu_);
    return next_;
  }

 private:
  void stop_locked() {
    stopped_ = true;
    pending_.clear();
    turn_.notify_all();
  }
  std::function<void(T&)> consume_;
  std::size_t window_;
  std::mutex mu_;
  std::condition_variable turn_;
  std::map<std::size_t, T> pending_;
  std::size_t next_ = 0;
  bool draining_ = false;
  bool stopped_ = false;
};

/// A thread-safe free list: take() returns a previously given object (its capacity kept) or a new one. Reusing
/// large buffers across the blocks of a parallel loop avoids touching (page-faulting) fresh memory per block.
template <class T>
class Recycler {
 public:
  [[nodiscard]] T take() {
    const std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return T{};
    T x = std::move(free_.back());
    free_.pop_back();
    return x;
  }
  void give(T x) {
    const std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(x));
  }

 private:
  std::mutex mu_;
  std::vector<T> free_;
};

}  // namespace mhclab

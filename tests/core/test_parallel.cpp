// core/parallel.hpp: parallel_for covers every index once and rethrows the first error; InOrder hands items on in
// index order whatever order they arrive in; Recycler returns what it was given.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mhclab/core/parallel.hpp"

using namespace mhclab;

TEST_SUITE("core_parallel") {
  TEST_CASE("parallel_for runs every index exactly once, for any thread count") {
    for (const int threads : {1, 2, 3, 8}) {
      std::vector<std::atomic<int>> hits(1000);
      parallel_for(1000, threads, [&](Index k) { hits[static_cast<std::size_t>(k)].fetch_add(1); });
      CHECK(std::all_of(hits.begin(), hits.end(), [](const std::atomic<int>& h) { return h.load() == 1; }));
    }
    int calls = 0;
    parallel_for(0, 4, [&](Index) { ++calls; });
    CHECK(calls == 0);
  }

  TEST_CASE("parallel_for rethrows an index's error on the calling thread and stops handing out indices") {
    std::atomic<int> ran{0};
    CHECK_THROWS_WITH_AS(parallel_for(
                             4000, 2,
                             [&](Index k) {
                               if (k == 3) throw std::runtime_error("index 3");
                               std::this_thread::sleep_for(std::chrono::microseconds(100));
                               ran.fetch_add(1);
                             },
                             1),
                         "index 3", std::runtime_error);
    // Indices are taken in increasing order, one at a time: after index 3 fails, the other thread finishes the index
    // it holds and takes no new one — far fewer than the 4000 (0.4 s of sleeping) the loop would run otherwise.
    CHECK(ran.load() < 2000);
  }

  TEST_CASE("parallel_for hands out runs of `grain` indices and still covers each once") {
    std::vector<std::atomic<int>> hits(10007);
    parallel_for(10007, 3, [&](Index k) { hits[static_cast<std::size_t>(k)].fetch_add(1); }, 64);
    CHECK(std::all_of(hits.begin(), hits.end(), [](const std::atomic<int>& h) { return h.load() == 1; }));
  }

  TEST_CASE("InOrder consumes items in index order whatever order they are submitted in") {
    std::vector<int> seen;
    InOrder<int> order([&](int& x) { seen.push_back(x); });
    for (const int k : {2, 0, 3, 1, 5, 4}) order.submit(static_cast<std::size_t>(k), 10 * k);
    CHECK(seen == std::vector<int>{0, 10, 20, 30, 40, 50});
    CHECK(order.consumed() == 6);

    // From parallel_for's threads, with uneven work so that items overtake each other.
    for (const int threads : {1, 2, 4}) {
      std::vector<std::string> texts;
      InOrder<std::string> write([&](std::string& t) { texts.push_back(t); });
      parallel_for(200, threads, [&](Index k) {
        if (k % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        write.submit(static_cast<std::size_t>(k), std::to_string(k));
      });
      REQUIRE(texts.size() == 200);
      for (std::size_t k = 0; k < texts.size(); ++k) CHECK(texts[k] == std::to_string(k));
    }
  }

  TEST_CASE("InOrder: an error in consume reaches the submitting thread and later items are dropped") {
    int consumed = 0;
    InOrder<int> order([&](int& x) {
      if (x == 1) throw std::runtime_error("disk full");
      ++consumed;
    });
    order.submit(0, 0);
    CHECK_THROWS_WITH_AS(order.submit(1, 1), "disk full", std::runtime_error);
    order.submit(2, 2);
    CHECK(consumed == 1);
    CHECK(order.consumed() == 1);
  }

  TEST_CASE("InOrder with a window holds at most `window` items and keeps every thread's order") {
    std::atomic<int> held{0}, most{0};
    std::vector<int> seen;
    InOrder<int> order(
        [&](int& x) {
          std::this_thread::sleep_for(std::chrono::microseconds(50));  // a slow writer: producers run ahead
          seen.push_back(x);
          held.fetch_sub(1);
        },
        4);
    parallel_for(
        300, 3,
        [&](Index k) {
          const int h = held.fetch_add(1) + 1;
          int m = most.load();
          while (h > m && !most.compare_exchange_weak(m, h)) {
          }
          order.submit(static_cast<std::size_t>(k), static_cast<int>(k));
        },
        1);
    REQUIRE(seen.size() == 300);
    for (std::size_t k = 0; k < seen.size(); ++k) CHECK(seen[k] == static_cast<int>(k));
    // Counted before submit waits: the window (4) plus one item per thread about to wait.
    CHECK(most.load() <= 4 + 3);
  }

  TEST_CASE("InOrder::abort releases submits waiting for an index that will never come") {
    InOrder<int> order([](int&) {}, 2);
    std::atomic<bool> released{false};
    std::thread waiter([&] {
      order.submit(5, 5);  // index 0 never arrives: waits until abort
      released = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(!released.load());
    order.abort();
    waiter.join();
    CHECK(released.load());
    order.submit(0, 0);  // dropped after abort
    CHECK(order.consumed() == 0);
  }

  TEST_CASE("Recycler returns a given object with its capacity, and a new one when empty") {
    Recycler<std::vector<double>> pool;
    CHECK(pool.take().capacity() == 0);
    std::vector<double> v(1000);
    v.clear();
    pool.give(std::move(v));
    const std::vector<double> w = pool.take();
    CHECK(w.empty());
    CHECK(w.capacity() >= 1000);
    CHECK(pool.take().capacity() == 0);
  }
}

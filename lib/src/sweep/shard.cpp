// Shards of a sweep: see mhclab/sweep/shard.hpp.
#include "mhclab/sweep/shard.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <string>

#include "mhclab/core/error.hpp"

namespace mhclab {

namespace {
double number_or(const SweepPoint& p, const char* key, double fallback) {
  const ConfigValue* v = p.find(key);
  if (v == nullptr) return fallback;
  double x = 0;
  const char* b = v->text.data();
  const auto r = std::from_chars(b, b + v->text.size(), x);
  return r.ec == std::errc() && x > 0 ? x : fallback;
}
}  // namespace

ShardSpec ShardSpec::parse(std::string_view text) {
  const auto fail = [&] {
    return InputError("--shard = '" + std::string(text) + "'; expected k/N with 0 ≤ k < N, e.g. 0/4");
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) throw fail();
  ShardSpec s;
  const auto a = std::from_chars(text.data(), text.data() + slash, s.index);
  const auto b = std::from_chars(text.data() + slash + 1, text.data() + text.size(), s.count);
  if (a.ec != std::errc() || a.ptr != text.data() + slash || b.ec != std::errc() ||
      b.ptr != text.data() + text.size() || s.count < 1 || s.index >= s.count)
    throw fail();
  return s;
}

std::string ShardSpec::text() const { return std::to_string(index) + "/" + std::to_string(count); }

double point_cost(const Experiment& e, const SweepPoint& p) {
  const double n = number_or(p, "n", 4);
  const ConfigValue* m = p.find("method");
  const bool sinkhorn = m == nullptr || m->text == "mhc" || m->text == "dsv4";  // mhc is every kind's default
  const double t = sinkhorn ? number_or(p, "iters", 20) : 0.0;
  double cost = number_or(p, "seeds", 1) * number_or(p, "layers", 1) * (n * n * n + t * n * n);
  if (e.kind == "fit") cost *= number_or(p, "fit-steps", 1);
  if (e.kind == "train") cost *= number_or(p, "steps", 1);
  for (const char* width : {"width", "hidden"})
    if (p.find(width) != nullptr) cost *= number_or(p, width, n) / n;
  return cost;
}

std::vector<std::vector<std::size_t>> assign_shards(const Experiment& e, const std::vector<SweepPoint>& points,
                                                    std::size_t count) {
  if (count < 1) throw InputError("shards: count = 0; must be ≥ 1");
  std::vector<double> cost(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) cost[i] = point_cost(e, points[i]);
  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  std::vector<double> load(count, 0.0);
  std::vector<std::vector<std::size_t>> shards(count);
  for (const std::size_t i : order) {
    const auto s = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[s] += cost[i];
    shards[s].push_back(i);
  }
  for (auto& s : shards) std::sort(s.begin(), s.end());
  return shards;
}

}  // namespace mhclab

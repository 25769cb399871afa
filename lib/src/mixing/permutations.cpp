// Lexicographic enumeration, ranking and unranking of permutations (SPEC §1).
// Rank = Σ_i c_i·(n−1−i)!, where c_i = #{j > i : σ(j) < σ(i)} (the Lehmer code), so rank 0 is the identity.
#include "mhclab/mixing/permutations.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "mhclab/core/error.hpp"

namespace mhclab {

Index factorial(Index n) {
  if (n < 0 || n > kFactorialMaxN)
    throw InputError("factorial: n = " + std::to_string(n) + "; must be in 0.." + std::to_string(kFactorialMaxN));
  Index f = 1;
  for (Index k = 2; k <= n; ++k) f *= k;
  return f;
}

bool is_permutation(std::span<const Index> sigma) {
  const auto n = static_cast<Index>(sigma.size());
  std::vector<char> seen(sigma.size(), 0);
  for (Index v : sigma) {
    if (v < 0 || v >= n || seen[static_cast<std::size_t>(v)]) return false;
    seen[static_cast<std::size_t>(v)] = 1;
  }
  return true;
}

Index permutation_rank(std::span<const Index> sigma) {
  const auto n = static_cast<Index>(sigma.size());
  if (n > kFactorialMaxN)
    throw InputError("permutation_rank: length " + std::to_string(n) + " > " + std::to_string(kFactorialMaxN) +
                     " (n! overflows)");
  if (!is_permutation(sigma)) throw InputError("permutation_rank: not a permutation of 0.." + std::to_string(n - 1));
  Index rank = 0;
  for (Index i = 0; i < n; ++i) {
    Index smaller_later = 0;
    for (Index j = i + 1; j < n; ++j)
      smaller_later += sigma[static_cast<std::size_t>(j)] < sigma[static_cast<std::size_t>(i)];
    rank = rank * (n - i) + smaller_later;  // Horner form of Σ c_i (n−1−i)!
  }
  return rank;
}

std::vector<Index> permutation_unrank(Index n, Index rank) {
  const Index count = factorial(n);  // validates n
  if (rank < 0 || rank >= count)
    throw InputError("permutation_unrank: rank = " + std::to_string(rank) + "; must be in [0, " + std::to_string(n) +
                     "!)");
  std::vector<Index> remaining(static_cast<std::size_t>(n));
  std::iota(remaining.begin(), remaining.end(), Index(0));
  std::vector<Index> sigma;
  sigma.reserve(static_cast<std::size_t>(n));
  Index block = count;
  for (Index i = 0; i < n; ++i) {
    block /= (n - i);  // (n−1−i)!
    const Index c = rank / block;
    rank %= block;
    sigma.push_back(remaining[static_cast<std::size_t>(c)]);
    remaining.erase(remaining.begin() + c);
  }
  return sigma;
}

PermutationTable::PermutationTable(Index n) : n_(n), count_(0) {
  if (n < 1 || n > kPermutationTableMaxN)
    throw InputError("permutation table: n = " + std::to_string(n) + "; must be in 1.." +
                     std::to_string(kPermutationTableMaxN) + " (n! permutations are stored)");
  count_ = factorial(n);
  data_.resize(static_cast<std::size_t>(count_ * n));
  std::vector<Index> sigma(static_cast<std::size_t>(n));
  std::iota(sigma.begin(), sigma.end(), Index(0));
  auto out = data_.begin();
  do {
    out = std::copy(sigma.begin(), sigma.end(), out);
  } while (std::next_permutation(sigma.begin(), sigma.end()));  // lexicographic successor
}

}  // namespace mhclab

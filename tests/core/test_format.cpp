// core/format.hpp and core/list.hpp: the fast %.17g formatter against printf, and the name-list parser.
#include <doctest/doctest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/list.hpp"
#include "mhclab/core/random.hpp"

using namespace mhclab;

namespace {
std::string printf17(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}
}  // namespace

TEST_SUITE("core_format") {
  TEST_CASE("format_double(x) is printf's %.17g: special values, boundaries and 2e5 random bit patterns") {
    const double inf = std::numeric_limits<double>::infinity();
    for (double x : {0.0, -0.0, 1.0, -1.0, 0.1, 1e-5, 1e-4, 1e16, 1e17, 123456789012345678.0, DBL_MIN, DBL_MAX,
                     DBL_TRUE_MIN, -DBL_TRUE_MIN, 0.99999999999999989, inf, -inf, 1.0 / 3.0, 2.5e-310}) {
      CHECK(format_double(x) == printf17(x));
      std::string s = "a";
      append_double(s, x);
      CHECK(s == "a" + printf17(x));
    }
    RandomStream rng(2026);
    for (int k = 0; k < 200000; ++k) {
      const double x = std::bit_cast<double>(rng.next());
      if (std::isnan(x)) continue;  // NaN payload signs print as nan or -nan: not a table value
      const std::string a = format_double(x), b = printf17(x);
      if (a != b) FAIL_CHECK(a << " != " << b);
    }
    // And numbers of the tables' usual magnitude (every digit count of the mantissa).
    for (int k = 0; k < 200000; ++k) {
      const double x = (static_cast<double>(rng.next() >> 11) * 0x1p-53) * std::pow(10.0, k % 40 - 20);
      const std::string a = format_double(x), b = printf17(x);
      if (a != b) FAIL_CHECK(a << " != " << b);
    }
  }

  TEST_CASE("parse_name_list splits on commas, trims blanks and refuses empty items by field") {
    CHECK(parse_name_list("", "kinds").empty());
    CHECK(parse_name_list("  ", "kinds").empty());
    CHECK(parse_name_list("prefix", "kinds") == std::vector<std::string>{"prefix"});
    CHECK(parse_name_list(" a, b ,c", "kinds") == std::vector<std::string>{"a", "b", "c"});
    CHECK_THROWS_WITH_AS((void)parse_name_list("a,,b", "metrics"), doctest::Contains("metrics = 'a,,b'"), InputError);
    CHECK_THROWS_AS((void)parse_name_list("a,", "metrics"), InputError);
    CHECK_THROWS_AS((void)parse_name_list(",a", "metrics"), InputError);
  }
}

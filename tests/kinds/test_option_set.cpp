// kinds/option_set.hpp: options by name — parsing, messages, defaults as text, aliases; kinds/common_options.hpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/kinds/common_options.hpp"
#include "mhclab/kinds/option_set.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;

TEST_SUITE("kinds_option_set") {
  TEST_CASE("each type parses its text, prints its value and refuses what it is not") {
    long n = 4;
    double tau = 1.0;
    std::uint64_t seed = 0;
    bool flag = false, train = true;
    std::vector<long> steps;
    std::string path;
    MethodId method = MethodId::MHC;
    OptionSet s;
    s.bind("n", n, "streams");
    s.bind("tau", tau, "temperature");
    s.bind("seed", seed, "seed");
    s.bind("lyapunov", flag, "switch", true);
    s.bind("train-res", train, "boolean");
    s.bind("steps", steps, "list");
    s.bind("input", path, "path");
    s.bind("method", method, method_table, "method");
    // Defaults as text (what --help and a resolved configuration show).
    CHECK(s.find("n")->get() == "4");
    CHECK(s.find("tau")->get() == "1");
    CHECK(s.find("lyapunov")->get() == "false");
    CHECK(s.find("method")->get() == "mhc");
    CHECK(s.find("lyapunov")->type == OptionType::Flag);
    CHECK(s.find("train-res")->type == OptionType::Boolean);

    s.set("n", "+16");
    s.set("tau", "0.05");
    s.set("seed", "18446744073709551615");
    s.set("lyapunov", "true");
    s.set("train-res", "false");
    s.set("steps", "5,20");
    s.set("input", "a b.npy");
    s.set("method", "hc");
    CHECK(n == 16);
    CHECK(tau == 0.05);
    CHECK(seed == UINT64_MAX);
    CHECK(flag);
    CHECK_FALSE(train);
    CHECK(steps == std::vector<long>{5, 20});
    CHECK(path == "a b.npy");
    CHECK(method == MethodId::HC);
    CHECK(s.find("steps")->get() == "5,20");
    CHECK(s.find("tau")->get() == "0.050000000000000003");  // %.17g: the value itself, not the typed text

    CHECK(input_error_of([&] { s.set("n", "abc"); }) == "n = 'abc'; expected an integer");
    CHECK(input_error_of([&] { s.set("n", "4.0"); }) == "n = '4.0'; expected an integer");
    CHECK(input_error_of([&] { s.set("n", ""); }) == "n = ''; expected an integer");
    CHECK(input_error_of([&] { s.set("seed", "18446744073709551616"); }) ==
          "seed = '18446744073709551616'; expected an integer in [0, 2^64 - 1]");
    CHECK(input_error_of([&] { s.set("seed", "-1"); }).find("expected an integer in [0, 2^64 - 1]") != std::string::npos);
    CHECK(input_error_of([&] { s.set("tau", "1e999"); }) == "tau = '1e999'; outside the double range");
    CHECK(input_error_of([&] { s.set("tau", "0.5x"); }) == "tau = '0.5x'; expected a number");
    CHECK(input_error_of([&] { s.set("train-res", "-1"); }) == "train-res = '-1'; expected true or false");
    CHECK(input_error_of([&] { s.set("train-res", "1"); }) == "train-res = '1'; expected true or false");
    CHECK(input_error_of([&] { s.set("steps", "5,,20"); }).find("steps = '5,,20'; expected an integer") == 0);
    CHECK(input_error_of([&] { s.set("method", "foo"); }).find("unknown method 'foo'") == 0);
    const std::string unknown = input_error_of([&] { s.set("itres", "3"); });
    CHECK(unknown.find("unknown option 'itres'; expected one of n, tau, seed") == 0);
    // A failed set leaves the value as it was.
    CHECK(n == 16);
    CHECK(tau == 0.05);
  }

  TEST_CASE("aliases, removal and duplicate keys") {
    long k = 10;
    OptionSet s;
    s.add({"outputs", {"classes"}, "K", OptionType::Integer, [&](std::string_view t) { k = parse_long_option("outputs", t); },
           [&] { return std::to_string(k); }});
    s.set("classes", "3");
    CHECK(k == 3);
    CHECK(s.find("classes") == s.find("outputs"));
    CHECK_THROWS_AS(s.bind("classes", k, "again"), InputError);
    s.remove({"outputs"});
    CHECK(s.find("classes") == nullptr);
  }

  TEST_CASE("the common groups bind the library's defaults under the CLI's names") {
    MethodOptions m;
    InitKind init = InitKind::Authors;
    double eps = 0.5;
    OptionSet s;
    bind_method_options(s, m, init, eps);
    for (const char* key : {"method", "n", "init", "init-eps", "lazy", "minorize", "iters", "tau", "init-tau", "order",
                            "domain", "tol", "tau-schedule", "precision", "precision-accumulate", "factors"})
      CHECK_MESSAGE(s.find(key) != nullptr, key);
    CHECK(s.find("iters")->get() == std::to_string(SinkhornOptions{}.iterations));
    s.set("iters", "7");
    s.set("init", "identity");
    s.set("init-eps", "0.25");
    s.set("lazy", "0.5");
    s.set("factors", "2,3");
    CHECK(m.sinkhorn.iterations == 7);
    CHECK(init == InitKind::Identity);
    CHECK(eps == 0.25);
    CHECK(m.modifiers.lazy == 0.5);
    CHECK(m.factors == std::vector<Index>{2, 3});
  }
}

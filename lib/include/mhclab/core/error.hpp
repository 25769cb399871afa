#pragma once
// The library's own exception types. Thrown only at the boundary for user / programmer input errors
// (InputError → exit code 2 in the CLI) and for computations that cannot produce a number
// (ComputeError → exit code 1).
#include <stdexcept>
#include <string>

namespace mhclab {

/// Bad input: an invalid option, a malformed file, a shape that does not fit. CLI exit code 2.
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A computation that failed on valid input (e.g. a numerical issue). CLI exit code 1.
class ComputeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace mhclab

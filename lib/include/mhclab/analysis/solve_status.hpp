#pragma once
// The outcome of a top-k eigen/singular-value solve: analysis/topk.hpp (the end-to-end product) and
// model/propagation.hpp (the end-to-end Jacobian) report the same statuses with the same names.
#include "mhclab/core/enum_table.hpp"

namespace mhclab {

/// converged: every requested value passed the residual test; not_converging: some did not within the iteration
/// limit (only those that passed are returned); numerical_issue: the solver failed or met a non-finite value (none
/// returned); dense: solved densely instead (too small for the iterative solver); zero_operator: the operator is
/// exactly zero (every value 0); not_computed: the part was not requested.
enum class SolveStatus { Converged, NotConverging, NumericalIssue, Dense, ZeroOperator, NotComputed };
inline constexpr EnumTable<SolveStatus, 6> solve_status_table{
    "status",
    {{{SolveStatus::Converged, "converged"},
      {SolveStatus::NotConverging, "not_converging"},
      {SolveStatus::NumericalIssue, "numerical_issue"},
      {SolveStatus::Dense, "dense"},
      {SolveStatus::ZeroOperator, "zero_operator"},
      {SolveStatus::NotComputed, "not_computed"}}}};

}  // namespace mhclab

#pragma once
// The option groups that several kinds share (CLI.md "Common options", "Generators", "Files"), bound by name into
// an OptionSet (kinds/option_set.hpp). Each kind's bind_<kind>_options calls the groups it uses, so an option
// such as `tau` has one key, one help line, one parser and one default (the library struct's) everywhere.
#include <cstdint>

#include "mhclab/generators/stack.hpp"
#include "mhclab/kinds/option_set.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/report/depth_table.hpp"

namespace mhclab {

/// method, n, init, init-eps, lazy, minorize, iters, tau, init-tau, order, domain, tol, tau-schedule, precision,
/// precision-accumulate, factors. `init` and `init_eps` belong to whoever draws the parameters (the stack
/// generator, the training network, a fit's start), so they are bound to the caller's fields.
void bind_method_options(OptionSet& s, MethodOptions& o, InitKind& init, double& init_eps);

/// generator, noise, eta, steps, rho, input, tensor, input-kind, layout (the stack's init and init-eps are bound by
/// bind_method_options); `layers` is bound by the kind (its help differs).
void bind_stack_options(OptionSet& s, StackOptions& o);

/// family, pattern, sites, hidden, hc-eps: which tensors of a production checkpoint form the chain
/// (generators/checkpoint_stack.hpp); bound by bind_stack_options and by `analyze --checkpoint`.
void bind_checkpoint_options(OptionSet& s, CheckpointSelection& c);

/// seeds (S) and seed (the first seed S0): a kind's runs use seeds S0 .. S0 + S − 1.
void bind_seed_options(OptionSet& s, Index& seeds, std::uint64_t& first_seed, const char* what = "seeds");

/// kinds (products: layer, prefix, suffix) and metrics (the depth table's columns; empty = all) of the depth-table
/// kinds (`depth`, `analyze`), and lyapunov (a flag).
void bind_selection_options(OptionSet& s, DepthTableOptions& table);

/// The checks every kind makes of its runs: seeds ≥ 1, threads ≥ 0, and with `stack` exactly one seed for the file
/// and trained generators (they read their stack). InputError naming seeds or threads.
void validate_runs(Index seeds, int threads, const StackOptions* stack = nullptr);

/// threads (0 = all cores; a kind's result never depends on it).
void bind_threads_option(OptionSet& s, int& threads, const char* over = "seeds");

}  // namespace mhclab

// Shared option groups: see mhclab/kinds/common_options.hpp.
#include "mhclab/kinds/common_options.hpp"

#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/list.hpp"

namespace mhclab {

void bind_method_options(OptionSet& s, MethodOptions& o, InitKind& init, double& init_eps) {
  s.bind("method", o.method, method_table, "Mixing method");
  s.bind("n", o.n, "Number of streams n");
  s.bind("init", init, init_table, "Parameter init");
  s.bind("init-eps", init_eps, "ε of the identity init H0 = (1-ε)I + εJ/n");
  s.bind("lazy", o.modifiers.lazy, "Lazy modifier H <- (1-α)I + αH");
  s.bind("minorize", o.modifiers.minorize, "Minorised modifier H <- (1-δ)H + δJ/n");
  s.bind("iters", o.sinkhorn.iterations, "Sinkhorn iterations t");
  s.bind("tau", o.sinkhorn.tau, "Sinkhorn temperature τ");
  s.bind("init-tau", o.init_tau,
         "mhc identity init logits τ0·log H0 computed at τ0 (0 = tau); a fixed τ0 holds the logits fixed while tau "
         "varies");
  s.bind("order", o.sinkhorn.order, sinkhorn_order_table, "Sinkhorn order");
  s.bind("domain", o.sinkhorn.domain, sinkhorn_domain_table, "Sinkhorn domain");
  s.bind("tol", o.sinkhorn.tol, "Stop when the max marginal error < tol (0 = run all iterations)");
  s.bind("tau-schedule", o.sinkhorn.schedule, tau_schedule_table, "τ schedule (geometric: log domain)");
  s.bind("precision", o.sinkhorn.precision, precision_table, "Emulated storage format");
  s.bind("precision-accumulate", o.sinkhorn.accumulate, accumulate_table, "Accumulate format of emulated runs");
  s.bind("start", o.sinkhorn.start, sinkhorn_start_table,
         "Sinkhorn start (auto = the method's: exp for mhc, softmax_cols for dsv4)");
  s.bind("eps", o.sinkhorn.eps, "Sinkhorn ε of the deployed kernels, in [0, 1) (auto: 0 for mhc, hc_eps = 1e-6 for dsv4)");
  s.bind("eps-placement", o.sinkhorn.eps_placement, eps_placement_table, "Where the Sinkhorn ε enters");
  s.bind("projection", o.sinkhorn.projection, sinkhorn_projection_table,
         "mhc: sinkhorn (t iterations) or newton (the converged entropic projection, implicit backward)");
  s.bind("factors", o.factors, "KromHC factor sizes, e.g. 2,2 (default from n)");
  s.bind("go-s", o.go_s, "go-mhc block size s (Θ is ns×ns; 1 = orthostochastic)");
  s.bind("gamma", o.gamma, "circulant: c = (1-γ)e0 + γ·softmax(z), γ in (0, 1] (leaky schedule γ = β/(2L))");
  s.bind("alpha", o.alpha, "cayley: H = Cayley((α/2)(Θ - Θᵀ)), α > 0");
  s.bind("cayley-steps", o.cayley_steps, "cayley: 0 = exact transform, k = JPmHC's k-step fixed-point approximation");
}

void bind_stack_options(OptionSet& s, StackOptions& o) {
  s.bind("generator", o.kind, generator_table,
         "Stack generator (trained: input = the directory of `mhclab train --out DIR`)");
  s.bind("noise", o.noise, "σ of `random`: θ_l = init + σ·N(0,1)");
  s.bind("eta", o.eta, "η of `drift` (step size)");
  s.bind("steps", o.steps,
         "`drift` snapshot step(s): K or K1,K2,... (strictly increasing); `trained`: which of the run's snapshots "
         "(default all)");
  s.bind("rho", o.rho, "ρ of `drift`: weight of the step component shared by all layers, in [0, 1]");
  s.bind("input", o.input,
         "`file` generator: stack file (.npy, long-form .csv, or .safetensors with tensor); `trained`: the run's "
         "directory");
  s.bind("tensor", o.tensor, "The tensor to read from a .safetensors input");
  s.bind("input-kind", o.input_kind, input_kind_table, "What the file's trailing axes hold");
  s.bind("layout", o.layout, layout_table, "to_from (paper orientation) or from_to (transpose on read)");
  bind_checkpoint_options(s, o.checkpoint);
}

void bind_checkpoint_options(OptionSet& s, CheckpointSelection& c) {
  s.bind("family", c.family, checkpoint_family_table, "Checkpoint naming (generators/checkpoint_stack.hpp)");
  s.bind("pattern", c.pattern, "family pattern: the base tensor's name with {layer} and {site}, e.g. "
                               "'layers.{layer}.hc_{site}_base'");
  s.add({"sites", {}, "Sites per layer in depth order (default: the family's, deepseek-v4: attn,ffn)", OptionType::List,
         [&c](std::string_view t) { c.sites = parse_name_list(t, "sites"); },
         [&c] {
           std::string out;
           for (const std::string& x : c.sites) out += (out.empty() ? "" : ",") + x;
           return out;
         }});
  s.bind("hidden", c.hidden,
         "Per-token .npy: residual states (tokens, sites, n, C) or mixes (tokens, sites, m) -> per-token combs");
  s.bind("hc-eps", c.hc_eps, "ε added to the pre gates (DeepSeek-V4's hc_eps)");
  s.bind("norm-eps", c.norm_eps, "ε inside the RMS of a residual state's mixes (DeepSeek-V4's norm_eps)");
}

void bind_seed_options(OptionSet& s, Index& seeds, std::uint64_t& first_seed, const char* what) {
  s.bind("seeds", seeds, std::string("Number of ") + what + " S (seeds S0..S0+S-1)");
  s.bind("seed", first_seed, "First seed S0");
}

void bind_selection_options(OptionSet& s, DepthTableOptions& table) {
  s.add({"kinds", {},
         "Products to compute, comma-separated: layer, prefix (H_l···H_1), suffix (H_L···H_l); rows in that order",
         OptionType::List, [&table](std::string_view t) { table.kinds = parse_enum_list(t, "kinds", product_kind_table); },
         [&table] {
           std::string out;
           for (ProductKind k : table.kinds) out += (out.empty() ? "" : ",") + std::string(product_kind_table.to_string(k));
           return out;
         }});
  s.add({"metrics", {},
         "Columns to compute and write, comma-separated (e.g. fwd_gain,bwd_gain,sigma_max); default: all. Only what "
         "they need is computed; written in the table's column order",
         OptionType::List, [&table](std::string_view t) { table.metrics = parse_name_list(t, "metrics"); },
         [&table] {
           std::string out;
           for (const std::string& m : table.metrics) out += (out.empty() ? "" : ",") + m;
           return out;
         }});
  s.bind("lyapunov", table.lyapunov, "Add running Lyapunov exponents lyap_1 >= ... (QR/Benettin)", true);
  s.bind("depths", table.depths,
         "Depths to write, e.g. 1,10,100,1000 (strictly increasing, ≤ L); default: every depth (all are computed)");
}

void validate_runs(Index seeds, int threads, const StackOptions* stack) {
  if (seeds < 1) throw InputError("seeds = " + std::to_string(seeds) + "; must be ≥ 1");
  if (stack != nullptr &&
      (stack->kind == GeneratorKind::File || stack->kind == GeneratorKind::Trained ||
       stack->kind == GeneratorKind::Checkpoint) &&
      seeds != 1)
    throw InputError("seeds = " + std::to_string(seeds) + "; the file, trained and checkpoint generators read their "
                     "stack: use 1 seed");
  if (threads < 0) throw InputError("threads = " + std::to_string(threads) + "; must be ≥ 0 (0 = all cores)");
}

void bind_threads_option(OptionSet& s, int& threads, const char* over) {
  s.bind("threads", threads, std::string("Threads over ") + over + " (0 = all cores; results do not depend on it)");
}

}  // namespace mhclab

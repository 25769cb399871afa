// The common method options (CLI.md "Common options"), shared by every verb that builds matrices.
#include <cstdio>
#include <sstream>

#include "commands.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/error.hpp"

namespace mhclab::app {

std::string g17(double x) { return format_double(x); }

void MethodCli::add_to(CLI::App* sub) {
  sub->add_option("--method", method, "Mixing method: " + method_table.names())->capture_default_str();
  sub->add_option("--n", n, "Number of streams n")->capture_default_str();
  sub->add_option("--init", init, "Parameter init: authors|identity")->capture_default_str();
  sub->add_option("--init-eps", init_eps, "ε of the identity init H0 = (1-ε)I + εJ/n")->capture_default_str();
  sub->add_option("--lazy", lazy, "Lazy modifier H <- (1-α)I + αH")->capture_default_str();
  sub->add_option("--minorize", minorize, "Minorised modifier H <- (1-δ)H + δJ/n")->capture_default_str();
  sub->add_option("--iters", iters, "Sinkhorn iterations t")->capture_default_str();
  sub->add_option("--tau", tau, "Sinkhorn temperature τ")->capture_default_str();
  sub->add_option("--init-tau", init_tau, "mhc identity init logits τ0·log H0 computed at τ0 (0 = --tau); fixed τ0 holds "
                  "the logits fixed while --tau varies")->capture_default_str();
  sub->add_option("--order", order, "Sinkhorn order: " + sinkhorn_order_table.names())->capture_default_str();
  sub->add_option("--domain", domain, "Sinkhorn domain: " + sinkhorn_domain_table.names())->capture_default_str();
  sub->add_option("--tol", tol, "Stop when the max marginal error < tol (0 = run all iterations)")
      ->capture_default_str();
  sub->add_option("--tau-schedule", tau_schedule, "τ schedule: " + tau_schedule_table.names() + " (geometric: log domain)")
      ->capture_default_str();
  sub->add_option("--precision", precision, "Emulated storage format: " + precision_table.names())
      ->capture_default_str();
  sub->add_option("--precision-accumulate", precision_accumulate,
                  "Accumulate format of emulated runs: " + accumulate_table.names())
      ->capture_default_str();
  sub->add_option("--factors", factors, "KromHC factor sizes, e.g. 2,2 (default from n)");
}

InitKind MethodCli::init_kind() const { return init_table.from_string(init); }

MethodOptions MethodCli::resolve() const {
  MethodOptions o;
  o.method = method_table.from_string(method);
  o.n = n;
  o.modifiers.lazy = lazy;
  o.modifiers.minorize = minorize;
  o.sinkhorn.iterations = iters;
  o.sinkhorn.tau = tau;
  o.init_tau = init_tau;
  o.sinkhorn.order = sinkhorn_order_table.from_string(order);
  o.sinkhorn.domain = sinkhorn_domain_table.from_string(domain);
  o.sinkhorn.tol = tol;
  o.sinkhorn.schedule = tau_schedule_table.from_string(tau_schedule);
  o.sinkhorn.precision = precision_table.from_string(precision);
  o.sinkhorn.accumulate = accumulate_table.from_string(precision_accumulate);
  (void)init_kind();  // unknown init → InputError
  if (!factors.empty()) {
    std::stringstream ss(factors);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        std::size_t pos = 0;
        const long f = std::stol(item, &pos);
        if (pos != item.size()) throw std::invalid_argument(item);
        o.factors.push_back(f);
      } catch (const std::exception&) {
        throw InputError("factors = '" + factors + "'; expected comma-separated integers, e.g. 2,2");
      }
    }
  }
  o.validate();
  return o;
}

}  // namespace mhclab::app

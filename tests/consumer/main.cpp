// A tiny downstream project: builds one mHC matrix and one depth table through the installed package (the
// umbrella header, linking mhclab::core only) and checks them.
#include <cmath>
#include <cstdio>

#include <mhclab/mhclab.hpp>

int main() {
  mhclab::MethodOptions o;
  o.method = mhclab::MethodId::MHC;
  o.n = 4;
  const auto m = mhclab::make_method(o);
  const auto r = m->mix(m->init_params(mhclab::InitKind::Authors, 0.01));
  const double row_err = (r.H.rowwise().sum().array() - 1.0).abs().maxCoeff();
  mhclab::DepthKindOptions d;
  d.method = o;
  d.stack.layers = 3;
  d.table.kinds = {mhclab::ProductKind::Prefix};
  d.table.metrics = {"fwd_gain"};
  const std::string csv = mhclab::depth_kind(d).csv();
  std::printf("consumer: n=%ld row_err=%.3g\n%s", static_cast<long>(r.H.rows()), row_err, csv.c_str());
  return row_err < 1e-14 && csv.rfind("seed,step,depth,kind,fwd_gain\n", 0) == 0 ? 0 : 1;
}

// A tiny downstream project: builds one mHC matrix through the installed package and checks its rows.
#include <cmath>
#include <cstdio>

#include <mhclab/mixing/method.hpp>

int main() {
  mhclab::MethodOptions o;
  o.method = mhclab::MethodId::MHC;
  o.n = 4;
  const auto m = mhclab::make_method(o);
  const auto r = mhclab::mix(*m, m->init_params(mhclab::InitKind::Authors, 0.01));
  const double row_err = (r.H.rowwise().sum().array() - 1.0).abs().maxCoeff();
  std::printf("consumer: n=%ld row_err=%.3g\n", static_cast<long>(r.H.rows()), row_err);
  return row_err < 1e-14 ? 0 : 1;
}

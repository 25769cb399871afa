// ResNet: H = I, no parameters (SPEC §2). n may be 1.
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {
class ResNet final : public Method {
 public:
  explicit ResNet(Index n) : n_(n) {}
  MethodId id() const override { return MethodId::ResNet; }
  Index n() const override { return n_; }
  Index num_params() const override { return 0; }
  bool exact_ds() const override { return true; }
  bool orthogonal() const override { return true; }  // I
  Vec init_params(InitKind, double eps) const override {
    check_init_eps(eps, false);
    return Vec(0);
  }
  MixResult build(const Vec&) const override { return {Mat::Identity(n_, n_), std::nullopt}; }
  Vec build_vjp(const Vec&, const Mat&) const override { return Vec(0); }

 private:
  Index n_;
};
}  // namespace
std::unique_ptr<Method> make_resnet(const MethodOptions& o) { return std::make_unique<ResNet>(o.n); }
}  // namespace mhclab::detail

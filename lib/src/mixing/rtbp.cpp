// PLACEHOLDER (being written in this session; replaced wholesale by the real implementation).
#include "mhclab/core/error.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
std::unique_ptr<Method> make_rtbp(const MethodOptions&) { throw InputError("method not available yet"); }
}  // namespace mhclab::detail

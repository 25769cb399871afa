#pragma once
// Basic numeric types shared by the whole library.
#include <Eigen/Dense>

namespace mhclab {
using Index = Eigen::Index;
using Mat = Eigen::MatrixXd;  ///< dense matrix, column-major in memory; H[i, j] = weight from stream j into stream i
using Vec = Eigen::VectorXd;  ///< dense column vector
}  // namespace mhclab

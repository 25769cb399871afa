"""The SplitMix64 mixing of mhclab's random streams (lib/include/mhclab/core/random.hpp), shared by the NumPy
peers in bench/. Stream keys and Box-Muller draws are built from these by each peer."""
import numpy as np

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
PURPOSE_THETA = 1
PURPOSE_BENCH = 6


def mix_int(z):
    """splitmix64_mix on a Python int (mod 2^64)."""
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def mix(z):
    """splitmix64_mix on a uint64 array (wrapping arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z

#!/usr/bin/env bash
# Installs every Debian package mhclab needs to build, test and plot (Debian 12), the Python package included
# (pybind11, NumPy, pytest; PyTorch, matplotlib, pandas and nbconvert for mhclab.torch and the Python notebook), and
# the scale-out (Open MPI for `run --mpi`; Slurm and munge for the one-node cluster of the Slurm tests).
# As root: apt-get installs whatever is missing. Otherwise: prints the exact apt-get line and exits 1.
set -euo pipefail
PKGS=(g++ cmake make git libeigen3-dev libspectra-dev libboost-math-dev doctest-dev libcli11-dev
      libtomlplusplus-dev nlohmann-json3-dev libfmt-dev gnuplot-nox python3-numpy
      python3-nbformat ccache
      python3-dev pybind11-dev python3-pytest python3-torch python3-matplotlib python3-pandas
      jupyter-nbconvert python3-ipykernel
      libopenmpi-dev openmpi-bin slurm-wlm munge)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PKGS[@]} packages present"
  exit 0
fi
line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install_deps: missing packages: ${missing[*]}" >&2
  echo "install_deps: run as root:  $line" >&2
  exit 1
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

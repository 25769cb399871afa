#!/usr/bin/env bash
# Runs the default experiment set (experiments/*.toml) into results/<name>/ and writes results/README.md, an
# index of every figure with one line on each (from each run's index.md). Usage:
#   scripts/run_experiments.sh [MHCLAB_BINARY] [RESULTS_DIR]
# Each experiment's directory is replaced (--force); a failure stops the script with the experiment's error.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-./build/release/mhclab}"
OUT="${2:-results}"
EXPERIMENTS=(amax_depth sinkhorn_iterations temperature precision energy scaling_n expressivity training_amax collapse_frontier collapse_frontier_trained)
mkdir -p "$OUT"
for e in "${EXPERIMENTS[@]}"; do
  echo "== mhclab run experiments/$e.toml --out $OUT/$e"
  "$BIN" run "experiments/$e.toml" --out "$OUT/$e" --force
done
tmp="$OUT/README.md.tmp$$"
{
  echo "# mhclab results"
  echo
  echo "Written by \`scripts/run_experiments.sh\` with $("$BIN" info | head -1) on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
  echo "Each directory holds rows.csv (tidy rows), aggregates.csv (over seeds: mean, sd, median, q05, q95, Student-t 95% CI),"
  echo "timings.csv, manifest.json (version, commit, flags, resolved config, seeds, threads, wall time) and figures/"
  echo "(PNG, SVG, and the gnuplot script and data of each figure, to restyle with \`gnuplot NAME.gp\`)."
  echo "What each experiment shows: experiments/README.md."
  echo
  for e in "${EXPERIMENTS[@]}"; do
    # index.md links figures relative to its own directory: prefix them with the experiment's directory.
    sed "s#](figures/#]($e/figures/#; s#(\`\([a-z]*\)\.csv\`)#(\`$e/\1.csv\`)#" "$OUT/$e/index.md"
    echo
  done
} > "$tmp"
mv "$tmp" "$OUT/README.md"
echo "wrote $OUT/README.md"

#!/usr/bin/env bash
# Deliberately refreshes the tracked docs/ from a finished main job (bash scripts/run_main.sh): the rendered
# notebooks (results/notebooks → docs/notebooks) and the README's figures (results/<experiment>/figures →
# docs/figures). The main job itself never writes tracked files; run this, review `git diff docs/`, commit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d results/notebooks ] || { echo "refresh_docs: no results/notebooks; run bash scripts/run_main.sh first" >&2; exit 2; }
rm -rf docs/notebooks
mkdir -p docs/notebooks docs/figures
cp -r results/notebooks/. docs/notebooks/
# Every figure the README shows, from the experiment that made it (docs/figures/<experiment>_<figure>.png).
for f in docs/figures/*.png; do
  name="$(basename "$f" .png)"
  found=""
  for d in results/*/; do
    e="$(basename "$d")"
    case "$name" in "$e"_*) src="$d/figures/${name#"$e"_}.png"; [ -f "$src" ] && found="$src" ;; esac
  done
  if [ -n "$found" ]; then cp "$found" "$f"; echo "refresh_docs: $f ← $found"
  else echo "refresh_docs: warning: no source for $f in results/" >&2; fi
done
echo "refresh_docs: done; review with git diff --stat docs/"

#!/usr/bin/env bash
# CLI contract tests (CLI.md): exit codes (0 ok, 2 bad usage/input, 1 failed computation) and messages.
# Usage: test_cli.sh MHCLAB_BINARY TESTDATA_DIR
set -u
BIN="$1"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0; fail=0
expect() {  # expect RC REGEX -- args...   (REGEX is matched against stdout+stderr)
  local want="$1" pat="$2"; shift 3
  local out rc
  out=$("$BIN" "$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then pass=$((pass+1))
  else fail=$((fail+1)); echo "FAIL: mhclab $* -> rc=$rc (want $want, /$pat/), output:"; echo "$out" | head -c 1500; echo; fi
}
PY=/usr/bin/python3
# ---- files (written with the standard library only) ------------------------------------------------
$PY - "$TMP" <<'PYEOF'
import struct, sys, os
d = sys.argv[1]
def npy(name, descr, shape, payload, fortran=False, magic=b'\x93NUMPY', ver=(1, 0), header=None):
    h = header if header is not None else "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, 'True' if fortran else 'False', '(' + ''.join('%d, ' % s for s in shape) + ')')
    h = h.encode('latin1')
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b' ' * pad + b'\n'
    with open(os.path.join(d, name), 'wb') as f:
        f.write(magic + bytes(ver) + struct.pack('<H', len(h)) + h + payload)
import math
vals16 = [2.0 * math.sin(1.7 * k) for k in range(16)]
npy('ok16.npy', '<f8', (16,), struct.pack('<16d', *vals16))
npy('ok15.npy', '<f8', (15,), struct.pack('<15d', *vals16[:15]))
npy('int.npy', '<i8', (16,), struct.pack('<16q', *range(16)))
npy('fortran.npy', '<f8', (4, 4), struct.pack('<16d', *vals16), fortran=True)
npy('trunc.npy', '<f8', (16,), struct.pack('<10d', *vals16[:10]))
npy('bigend.npy', '>f8', (16,), struct.pack('>16d', *vals16))
npy('badmagic.npy', '<f8', (16,), struct.pack('<16d', *vals16), magic=b'\x93NUMPX')
npy('badheader.npy', '<f8', (16,), struct.pack('<16d', *vals16), header="{'descr': '<f8', 'shape': (16,")
nan = vals16[:]; nan[3] = float('nan')
npy('nan.npy', '<f8', (16,), struct.pack('<16d', *nan))
stack = [0.7, 0.3, 0.3, 0.7] * 20
npy('h20.npy', '<f8', (20, 2, 2), struct.pack('<80d', *stack))
tok = []
for a in (0.7, 0.8, 0.9):
    tok += [a, 1 - a, 1 - a, a] * 20
npy('tok.npy', '<f8', (3, 20, 2, 2), struct.pack('<240d', *tok))
open(os.path.join(d, 'ok16.csv'), 'w').write(','.join(repr(v) for v in vals16) + '\n')
open(os.path.join(d, 'bad.csv'), 'w').write('0.1,0.2,abc\n')
open(os.path.join(d, 'theta.txt'), 'w').write('1 2 3\n')
PYEOF
# ---- success paths -------------------------------------------------------------------------------
expect 0 "commit:" -- info
expect 0 "flags:" -- info
expect 0 "row_err=.* col_err=.* min_entry=.* iterations=20 status=fixed_iterations" -- mix --method mhc --n 4 --init authors
expect 0 "status=converged" -- mix --method mhc --n 4 --logits "$TMP/ok16.npy" --tol 1e-12 --iters 500
expect 0 "status=max_iterations" -- mix --method mhc --n 4 --logits "$TMP/ok16.npy" --tol 1e-15 --iters 2
expect 0 "round_err=" -- mix --method mhc --n 4 --init authors --precision bf16
expect 0 "status=fixed_iterations" -- mix --method mhc --n 4 --logits "$TMP/ok16.csv"
expect 0 "status=fixed_iterations" -- mix --method mhc --n 4 --tau 0.001 --domain log --tau-schedule geometric --init identity
expect 0 "dist_tropical" -- mix --method mhc --n 4 --seeds 50 --generator random --noise 1
expect 0 "iterations=0 status=none" -- mix --method tropical --n 4 --logits "$TMP/ok16.npy"
expect 0 "status=fixed_iterations" -- mix --method mhc --n 4 --init authors --out "$TMP/h.npy"
expect 0 "status=fixed_iterations" -- mix --method mhc --n 4 --init authors --out "$TMP/h.csv"
[ -s "$TMP/h.npy" ] && [ -s "$TMP/h.csv" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --out files missing"; }
ls "$TMP" | grep -q tmp && { fail=$((fail+1)); echo "FAIL: temp file left behind"; } || pass=$((pass+1))
# same seeds → same numbers at any thread count
a=$("$BIN" mix --method mhc --n 4 --seeds 64 --threads 1 2>&1); b=$("$BIN" mix --method mhc --n 4 --seeds 64 --threads 2 2>&1)
[ "$a" = "$b" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --threads changes mix --seeds output"; }
# ---- failed computation: exit 1 -------------------------------------------------------------------
expect 1 "numerical issue.*-708" -- mix --method mhc --n 4 --tau 0.001 --init authors
# ---- bad usage / input: exit 2, each with its own message ----------------------------------------------
expect 2 "n = 0; must be ≥ 1" -- mix --method mhc --n 0
expect 2 "iters = 0; must be ≥ 1" -- mix --method mhc --n 4 --iters 0
expect 2 "tau = 0; must be > 0" -- mix --method mhc --n 4 --tau 0
expect 2 "tau = -1; must be > 0" -- mix --method mhc --n 4 --tau -1
expect 2 "unknown method 'foo'; expected one of resnet\|hc\|mhc" -- mix --method foo --n 4
expect 2 "unknown init 'zeros'" -- mix --method mhc --n 4 --init zeros
expect 2 "geometric needs domain = log" -- mix --method mhc --n 4 --tau-schedule geometric
expect 2 "unknown order" -- mix --method mhc --n 4 --order rows
expect 2 "unknown precision" -- mix --method mhc --n 4 --precision fp16
expect 2 "lazy = 2; must be in \[0, 1\]" -- mix --method mhc --n 4 --lazy 2
expect 2 "ok15.npy.*takes 16 parameters; the file holds 15" -- mix --method mhc --n 4 --logits "$TMP/ok15.npy"
expect 2 "int.npy.*<i8" -- mix --method mhc --n 4 --logits "$TMP/int.npy"
expect 2 "fortran.npy.*[Ff]ortran" -- mix --method mhc --n 4 --logits "$TMP/fortran.npy"
expect 2 "trunc.npy.*(truncated|expected|bytes)" -- mix --method mhc --n 4 --logits "$TMP/trunc.npy"
expect 2 "bigend.npy.*>f8" -- mix --method mhc --n 4 --logits "$TMP/bigend.npy"
expect 2 "badmagic.npy" -- mix --method mhc --n 4 --logits "$TMP/badmagic.npy"
expect 2 "badheader.npy" -- mix --method mhc --n 4 --logits "$TMP/badheader.npy"
expect 2 "nan.npy.*(NaN|non-finite|not finite)" -- mix --method mhc --n 4 --logits "$TMP/nan.npy"
expect 2 "bad.csv:1" -- mix --method mhc --n 4 --logits "$TMP/bad.csv"
expect 2 "theta.txt.*(\.npy|\.csv)" -- mix --method mhc --n 4 --logits "$TMP/theta.txt"
expect 2 "missing.npy" -- mix --method mhc --n 4 --logits "$TMP/missing.npy"
expect 2 "--jacobian needs" -- mix --method mhc --n 4 --jacobian
expect 2 "seeds = -1" -- mix --method mhc --n 4 --seeds -1
expect 2 "generator 'drift' is not available" -- mix --method mhc --n 4 --seeds 3 --generator drift
expect 2 "unknown generator" -- mix --method mhc --n 4 --seeds 3 --generator foo
expect 2 "(argument|Could not convert|invalid|Invalid)" -- mix --method mhc --n abc
expect 2 "(required|A subcommand)" --
# exact-DS charts (issue 3)
expect 0 "status=none" -- mix --method kromhc --n 6 --factors 2,3 --init authors
expect 0 "status=none" -- mix --method mhc-lite --n 4 --init identity
expect 0 "status=none" -- mix --method tbp --n 5 --init identity
expect 0 "status=none" -- mix --method rtbp --n 7 --init authors
expect 0 "dist_identity" -- mix --method kromhc --n 8 --seeds 20
expect 2 "product = 4 ≠ n = 6" -- mix --method kromhc --n 6 --factors 2,2
expect 2 "factors = '2,x'" -- mix --method kromhc --n 8 --factors 2,x
expect 2 "mhc-lite needs n ≤ 8" -- mix --method mhc-lite --n 9
expect 2 "prime factor 11 > 8" -- mix --method kromhc --n 11
expect 2 "takes 9 parameters" -- mix --method tbp --n 4 --logits "$TMP/ok16.npy"
expect 0 "method_build_tbp_n16: .* matrices/s" -- bench project --count 1000 --repeat 1 --method-min-time 0.01 --method-pool 10
expect 2 "bench 'train' is not available yet" -- bench train
expect 0 "depth_prefix_mhc_n4_L8_t20: .* layer-steps/s" -- bench depth --seeds 20 --layers 8 --repeat 1
expect 0 "path: scalar" -- bench depth --n 9 --seeds 3 --layers 2 --repeat 1
expect 2 "only mhc" -- bench depth --method hc
# analyze (SPEC §4 metrics of a stack; groundwork verb of the depth-analysis issue)
expect 0 "^depth,kind,fwd_gain,bwd_gain" -- analyze --input "$TMP/h20.npy"
expect 0 "wrote" -- analyze --input "$TMP/h20.npy" --lyapunov --out "$TMP/a.csv"
rows=$(wc -l < "$TMP/a.csv")
[ "$rows" -eq 61 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze wrote $rows lines, want 61"; }
# prefix depth 20 of H = [[.7,.3],[.3,.7]]: collapse = 0.4^20 exactly (centred product), lyap_1 + lyap_2 = ln 0.4
chk=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) col[$i]=i; next} $1==20 && $2=="prefix" {
  e1 = $col["log10_collapse"] - 20*log(0.4)/log(10); e2 = $col["lyap_1"] + $col["lyap_2"] - log(0.4);
  print ((e1 < 1e-12 && e1 > -1e-12 && e2 < 1e-12 && e2 > -1e-12) ? "ok" : "bad " e1 " " e2) }' "$TMP/a.csv")
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze values: $chk"; }
expect 2 "unknown input-kind 'foo'" -- analyze --input "$TMP/h20.npy" --input-kind foo
expect 2 "unknown layout 'rows'" -- analyze --input "$TMP/h20.npy" --layout rows
expect 2 "expected p = 9 parameters" -- analyze --input "$TMP/ok16.npy" --input-kind params --method tbp --n 4
expect 2 "input.*required" -- analyze
expect 2 "ok16.npy.*does not fit input-kind matrices" -- analyze --input "$TMP/ok16.npy"
# analyze --token-average on 3 tokens of H = [[a,1-a],[1-a,a]], a = 0.7, 0.8, 0.9 (20 layers): the prefix
# collapse at depth 20 is |Π(2a−1)| per token, so (log10 values, 1e-12 absolute):
#   composite: log10 mean_t (2a_t−1)^20;  matrix: 20·log10(2·0.8−1);  metric (stat mean): mean_t 20·log10(2a_t−1)
check_tok() {  # check_tok MODE EXPECTED_LOG10 [STAT]
  expect 0 "wrote" -- analyze --input "$TMP/tok.npy" --token-average "$1" --out "$TMP/tok_$1.csv"
  local got
  got=$(awk -F, -v want="$2" -v stat="${3:-}" 'NR==1{for(i=1;i<=NF;i++) col[$i]=i; next}
    $col["depth"]==20 && $col["kind"]=="prefix" && (stat=="" || $col["stat"]==stat) {
      e = $col["log10_collapse"] - want; print ((e < 1e-12 && e > -1e-12) ? "ok" : "bad " $col["log10_collapse"]) }' "$TMP/tok_$1.csv")
  [ "$got" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: token-average $1: $got (want $2)"; }
}
check_tok composite "$(awk 'BEGIN{printf "%.17g", log((0.4^20+0.6^20+0.8^20)/3)/log(10)}')"
check_tok matrix "$(awk 'BEGIN{printf "%.17g", 20*log(0.6)/log(10)}')"
check_tok metric "$(awk 'BEGIN{printf "%.17g", 20*(log(0.4)+log(0.6)+log(0.8))/3/log(10)}')" mean
expect 2 "unknown token-average 'tokens'" -- analyze --input "$TMP/tok.npy" --token-average tokens
expect 2 "does not fit input-kind matrices" -- analyze --input "$TMP/h20.npy" --token-average metric
# depth: same rows for 1 and 2 threads (drift, two snapshot steps, four seeds, Lyapunov columns)
expect 0 "wrote" -- depth --method mhc --n 4 --layers 30 --generator drift --eta 0.1 --steps 5,20 --rho 0.5 --seeds 4 --lyapunov --threads 1 --out "$TMP/d1.csv"
expect 0 "wrote" -- depth --method mhc --n 4 --layers 30 --generator drift --eta 0.1 --steps 5,20 --rho 0.5 --seeds 4 --lyapunov --threads 2 --out "$TMP/d2.csv"
cmp -s "$TMP/d1.csv" "$TMP/d2.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: depth output differs between 1 and 2 threads"; }
rows=$(wc -l < "$TMP/d1.csv")
[ "$rows" -eq $((1 + 4*2*3*30)) ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: depth wrote $rows lines, want $((1 + 4*2*3*30))"; }
head -1 "$TMP/d1.csv" | grep -q "^seed,step,depth,kind,fwd_gain,.*,iterations,status,.*,dist_tropical,row_entropy,lyap_1,lyap_2,lyap_3,lyap_4$" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: depth header: $(head -1 "$TMP/d1.csv")"; }
# depth --save-matrices, then analyze of the saved stack: the same metric rows (hc: no Sinkhorn columns)
expect 0 "saved" -- depth --method hc --n 3 --layers 12 --noise 0.3 --seed 7 --out "$TMP/dh.csv" --save-matrices "$TMP/dh.npy"
expect 0 "wrote" -- analyze --input "$TMP/dh.npy" --out "$TMP/ah.csv"
if cmp -s <(cut -d, -f3- "$TMP/dh.csv") "$TMP/ah.csv"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: analyze of saved matrices differs from depth"; fi
expect 2 "layers = 0; must be ≥ 1" -- depth --method hc --n 4
expect 2 "steps" -- depth --method hc --n 4 --layers 5 --generator drift
expect 2 "rho" -- depth --method hc --n 4 --layers 5 --generator drift --steps 3 --rho 2
expect 2 "seeds = 0" -- depth --method hc --n 4 --layers 5 --seeds 0
expect 2 "unknown generator 'walk'" -- depth --method hc --n 4 --layers 5 --generator walk
expect 0 "^seed,step,depth,kind" -- depth --method hc --n 2 --generator file --input "$TMP/h20.npy"
# propagate: same rows for 1 and 2 threads; ResNet-like zero branch conserves energy
expect 0 "wrote" -- propagate --method mhc --n 4 --width 8 --layers 10 --seeds 3 --branch tanh --jacobian-topk 2 --threads 1 --out "$TMP/p1.csv"
expect 0 "wrote" -- propagate --method mhc --n 4 --width 8 --layers 10 --seeds 3 --branch tanh --jacobian-topk 2 --threads 2 --out "$TMP/p2.csv"
cmp -s "$TMP/p1.csv" "$TMP/p2.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: propagate output differs between 1 and 2 threads"; }
grep -q ",converged," "$TMP/p1.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: propagate: no converged Jacobian row"; }
expect 0 "^0,0,5,1,0," -- propagate --method resnet --n 1 --width 4 --layers 5 --gain 0 --generator init
expect 2 "width = 0" -- propagate --method mhc --n 4 --width 0 --layers 3
expect 2 "unknown branch 'gelu'" -- propagate --method mhc --n 4 --layers 3 --branch gelu
expect 2 "unknown branch-norm 'layer'" -- propagate --method mhc --n 4 --layers 3 --branch-norm layer
# analyze --eigenvalues/--singular-values (dense, every depth and kind) and --topk (Spectra, end-to-end product)
expect 0 "wrote" -- analyze --input "$TMP/h20.npy" --eigenvalues "$TMP/ev.csv" --singular-values "$TMP/sv.csv" --out "$TMP/a2.csv"
for f in ev sv; do
  rows=$(wc -l < "$TMP/$f.csv")
  [ "$rows" -eq 121 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: $f.csv has $rows lines, want 121"; }
done
# prefix depth 5 of [[.7,.3],[.3,.7]]: eigenvalues 1 and 0.4^5 (log10 to 1e-12: a dense eigensolver resolves
# 0.01 to ~n·ε absolute, 2e-14 relative; at depth 20, 0.4^20 ≈ 1e-8 is resolved only to ~1e-8 relative)
chk=$(awk -F, -v w="$(awk 'BEGIN{printf "%.17g", 5*log(0.4)/log(10)}')" '$1==5 && $2=="prefix" && $3==2 {
  e = $7 - w; print ((e < 1e-12 && e > -1e-12) ? "ok" : "bad " $7) }' "$TMP/ev.csv")
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: eigenvalue 0.4^20: $chk"; }
expect 0 "saved" -- depth --method hc --n 64 --layers 3 --noise 0.1 --init-eps 0 --out "$TMP/d64.csv" --save-matrices "$TMP/h64.npy"
expect 0 "top-6 .* eigenvalues converged .* singular values converged" -- analyze --input "$TMP/h64.npy" --topk 6 --singular-values "$TMP/sv6.csv" --out "$TMP/a64.csv"
expect 0 "wrote" -- analyze --input "$TMP/h64.npy" --singular-values "$TMP/sv64.csv" --out "$TMP/a64.csv"
# Spectra's σ_1..σ_6 of the end-to-end product = the dense prefix depth-3 values to 1e-10 relative
chk=$(awk -F, 'FNR==1{next} NR==FNR{top[$3]=$4; next} $1==3 && $2=="prefix" && ($3 in top) {
  d = top[$3]/$4 - 1; if (d > 1e-10 || d < -1e-10) bad++; n++ } END{print (n==6 && !bad) ? "ok" : "bad " n " " bad}' "$TMP/sv6.csv" "$TMP/sv64.csv")
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: topk vs dense singular values: $chk"; }
expect 2 "topk" -- analyze --input "$TMP/h20.npy" --topk 5
expect 2 "take a \(layer, …\) stack" -- analyze --input "$TMP/tok.npy" --token-average matrix --eigenvalues "$TMP/x.csv"
# ---- plot: a figure (or, without gnuplot, its script and data) from a result CSV ------------------------
printf 'seed,depth,kind,gain\n0,1,suffix,1\n0,2,suffix,4\n1,1,suffix,2\n1,2,suffix,8\n0,1,prefix,3\n' > "$TMP/res.csv"
expect 0 "mhclab plot: (wrote|warning)" -- plot "$TMP/res.csv" --x depth --y gain --group seed --where kind=suffix --logy --out "$TMP/fig.svg"
[ -s "$TMP/fig.gp" ] && [ -s "$TMP/fig.dat" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: plot: fig.gp/fig.dat missing"; }
if command -v gnuplot >/dev/null || [ -n "${MHCLAB_GNUPLOT:-}" ]; then
  grep -q "<svg" "$TMP/fig.svg" 2>/dev/null && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: plot: fig.svg missing"; }
  expect 0 "res_gain.png" -- plot "$TMP/res.csv" --x depth --y gain
  [ "$(head -c 4 "$TMP/res_gain.png" | tail -c 3)" = "PNG" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: plot: default res_gain.png missing"; }
fi
ls "$TMP" | grep -q '\.tmp' && { fail=$((fail+1)); echo "FAIL: plot: temp file left behind"; } || pass=$((pass+1))
expect 2 "no column 'gian'" -- plot "$TMP/res.csv" --x depth --y gian
expect 2 "--out .*expected a .png, .svg or .pdf" -- plot "$TMP/res.csv" --x depth --y gain --out "$TMP/fig.jpg"
expect 2 "nope.csv.*cannot read" -- plot "$TMP/nope.csv" --x depth --y gain
expect 2 "no rows match \(where kind=layer\)" -- plot "$TMP/res.csv" --x depth --y gain --where kind=layer
expect 2 "band = 'wide'; expected ci95\|quantiles\|none" -- plot "$TMP/res.csv" --x depth --y gain --band wide
# ---- run: sweeps from experiment files ----------------------------------------------------------------
cat > "$TMP/exp.toml" <<'TOML'
[experiment]
name = "t"
kind = "depth"
seed = 9
[base]
n = 3
layers = 6
generator = "drift"
steps = [1, 3]
seeds = 3
[grid]
method = ["hc", "mhc", "tbp"]
eta = [0.1, -0.5]
[[exclude]]
eta = -0.5
[aggregate]
metrics = ["log10_bwd_gain", "col_err"]
[[plot]]
name = "g"
x = "depth"
y = "log10_bwd_gain"
group = "method"
where = { kind = "suffix", step = 3 }
TOML
expect 0 "^index,point_id,seed,method,eta" -- run "$TMP/exp.toml" --dry-run
[ "$("$BIN" run "$TMP/exp.toml" --dry-run | tail -n +4 | wc -l)" = 3 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: dry-run should list 3 points"; }
expect 0 "3 point\(s\) \(3 run, 0 reused\)" -- run "$TMP/exp.toml" --out "$TMP/r1" --threads 1
for f in rows.csv aggregates.csv timings.csv manifest.json sweep.json index.md experiment.toml figures/g.gp figures/g.dat; do
  [ -s "$TMP/r1/$f" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: $f missing"; }
done
"$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); assert m['resolved']['points'][0]['seeds']==3 and m['mhclab']['version'] and m['threads']==1" "$TMP/r1/manifest.json" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: manifest content"; }
# every row of a point reproduces on the command line from the seed column
pid=$(awk -F, 'NR==2{print $1}' "$TMP/r1/rows.csv")
sc=$(head -1 "$TMP/r1/rows.csv" | tr , '\n' | grep -n '^seed$' | cut -d: -f1); s0=$(awk -F, -v c="$sc" 'NR==2{print $c}' "$TMP/r1/rows.csv")
"$BIN" depth --n 3 --layers 6 --generator drift --steps 1,3 --seeds 3 --method hc --eta 0.1 --seed "$s0" | tail -n +2 > "$TMP/direct.csv"
# (rows.csv holds the union of the points' columns: hc rows end with the empty Sinkhorn columns of mhc)
grep "^$pid," "$TMP/r1/rows.csv" | cut -d, -f"$sc"- | sed 's/,*$//' | cmp -s - <(sed 's/,*$//' "$TMP/direct.csv") && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: rows differ from mhclab depth with the point's seed"; }
expect 2 "already exists; use --force" -- run "$TMP/exp.toml" --out "$TMP/r1"
expect 0 "3 run" -- run "$TMP/exp.toml" --out "$TMP/r2" --threads 2
cmp -s "$TMP/r1/rows.csv" "$TMP/r2/rows.csv" && cmp -s "$TMP/r1/aggregates.csv" "$TMP/r2/aggregates.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: rows depend on --threads"; }
# fault injection: abort after 1 point, then resume; the merged rows equal a clean run's
MHCLAB_FAIL_AFTER=1 "$BIN" run "$TMP/exp.toml" --out "$TMP/r3" --threads 1 >/dev/null 2>&1; rc=$?
[ "$rc" -ne 0 ] && [ ! -e "$TMP/r3/rows.csv" ] && [ "$(ls "$TMP/r3/points" | grep -c '\.csv$')" = 1 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: MHCLAB_FAIL_AFTER=1 (rc=$rc)"; }
expect 0 "3 point\(s\) \(2 run, 1 reused\)" -- run "$TMP/exp.toml" --out "$TMP/r3" --resume
cmp -s "$TMP/r1/rows.csv" "$TMP/r3/rows.csv" && cmp -s "$TMP/r1/aggregates.csv" "$TMP/r3/aggregates.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: resumed rows differ from a clean run"; }
expect 0 "0 run, 3 reused" -- run "$TMP/exp.toml" --out "$TMP/r3" --resume
expect 0 "3 run" -- run "$TMP/exp.toml" --out "$TMP/r3" --force
sed 's/seed = 9/seed = 10/' "$TMP/exp.toml" > "$TMP/exp2.toml"
expect 2 "different grid" -- run "$TMP/exp2.toml" --out "$TMP/r3" --resume
mkdir -p "$TMP/mine" && echo x > "$TMP/mine/notes.txt"
expect 2 "does not look like an mhclab results directory" -- run "$TMP/exp.toml" --out "$TMP/mine" --force
# bad experiment files: file, line and key
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\nitres = 3\n' > "$TMP/bad1.toml"
expect 2 "bad1.toml:6: unknown key 'itres' for kind 'depth'" -- run "$TMP/bad1.toml" --dry-run
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\n[grid]\nlayers = [4, "x"]\n' > "$TMP/bad2.toml"
expect 2 "bad2.toml:6: key 'layers' = x" -- run "$TMP/bad2.toml" --dry-run
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\nmethod = "mhc"\ndomain = "log"\n[grid]\nprecision = ["fp64", "bf16"]\n' > "$TMP/bad3.toml"
expect 2 "bad3.toml:9: key 'precision' = bf16.*exp domain only" -- run "$TMP/bad3.toml" --dry-run
printf '[experiment]\nkind = "train"\n' > "$TMP/bad4.toml"
expect 2 "kind 'train' needs the training harness" -- run "$TMP/bad4.toml"
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\nout = "x.csv"\n' > "$TMP/bad5.toml"
expect 2 "bad5.toml:6: key 'out' is set by .mhclab run." -- run "$TMP/bad5.toml"
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\n[[plot]]\nname = "p"\nx = "depth"\ny = "nope"\n' > "$TMP/bad6.toml"
expect 2 "bad6.toml:6: .*nope" -- run "$TMP/bad6.toml" --out "$TMP/r6"
expect 2 "nofile.toml" -- run "$TMP/nofile.toml"
out=$(MHCLAB_FAIL_AFTER=x "$BIN" run "$TMP/exp.toml" --out "$TMP/r7" 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "MHCLAB_FAIL_AFTER = 'x'" <<<"$out" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: bad MHCLAB_FAIL_AFTER: $out"; }
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

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
npy('z44.npy', '<f8', (4, 4), struct.pack('<16d', *vals16))
npy('z4.npy', '<f8', (4,), struct.pack('<4d', *vals16[:4]))
open(os.path.join(d, 'z44.csv'), 'w').write(''.join(','.join(repr(v) for v in vals16[4 * i:4 * i + 4]) + '\n' for i in range(4)))
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
# safetensors (format: u64 LE header length, JSON header, raw LE data) and the same data as .npy
import json
def safetensors(name, tensors, header_override=None):
    hdr, data = {"__metadata__": {"format": "pt"}}, b''
    for tname, dtype, shape, payload in tensors:
        hdr[tname] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    h = (header_override if header_override is not None else json.dumps(hdr)).encode()
    h += b' ' * (-len(h) % 8)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + data)
asym = [0.5 + 0.4 * math.sin(1.3 * k) for k in range(6 * 3 * 3)]   # not symmetric: tests the layout
npy('asym.npy', '<f8', (6, 3, 3), struct.pack('<54d', *asym))
tokp = struct.pack('<240d', *tok)
par = [0.3 * math.cos(0.7 * k) for k in range(5 * 4)]
npy('par.npy', '<f8', (5, 4), struct.pack('<20d', *par))
safetensors('m.safetensors', [('model.h_res', 'F64', (6, 3, 3), struct.pack('<54d', *asym)),
                              ('model.tok', 'F64', (3, 20, 2, 2), tokp),
                              ('model.theta', 'F64', (5, 4), struct.pack('<20d', *par)),
                              ('model.steps', 'I64', (2,), struct.pack('<2q', 1, 2))])
safetensors('bad.safetensors', [], header_override='{"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 99]}}')
open(os.path.join(d, 'junk.safetensors'), 'wb').write(b'\x07garbage-not-a-header')
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
# mix --jacobian (learnability diagnostics): values printed, hc rank = n², the long-form CSV, --seeds columns
expect 0 "^sigma_max=1 sigma_min_nonzero=1 rank=16 logit_range=.* params=16" -- mix --method hc --n 4 --logits "$TMP/ok16.npy" --jacobian
expect 0 "^singular_values=1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1$" -- mix --method hc --n 4 --jacobian
expect 0 "rank=9 .*params=9" -- mix --method tbp --n 4 --jacobian
expect 0 "^sigma_max=2.6[0-9]*e-68 .* logit_range=160 params=16" -- mix --method mhc --n 4 --init authors --tau 0.05 --jacobian
expect 0 "rank=0 logit_range=0 params=0" -- mix --method resnet --n 3 --jacobian
expect 0 "rank=" -- mix --method mhc --n 4 --init authors --jacobian --out "$TMP/J.csv"
head -1 "$TMP/J.csv" | grep -qx "i,j,k,value" && [ "$(wc -l < "$TMP/J.csv")" -eq 257 ] && pass=$((pass+1)) || {
  fail=$((fail+1)); echo "FAIL: mix --jacobian --out: header/row count"; head -3 "$TMP/J.csv"; }
sv=$("$BIN" mix --method mhc-lite --n 3 --init authors --jacobian | sed -n 's/^singular_values=//p' | tr ',' '\n' | wc -l)
[ "$sv" -eq 6 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: mhc-lite n=3 has $sv singular values, want min(9, 6) = 6"; }
expect 0 "wrote" -- mix --method mhc --n 4 --seeds 5 --jacobian --out "$TMP/js.csv"
head -1 "$TMP/js.csv" | grep -q ",iterations,jac_sigma_max,jac_sigma_min_nonzero,jac_rank,logit_range$" && pass=$((pass+1)) || {
  fail=$((fail+1)); echo "FAIL: mix --seeds --jacobian header"; head -2 "$TMP/js.csv"; }
expect 0 "jac_rank" -- mix --method kromhc --n 4 --seeds 3 --jacobian
expect 2 "--jacobian --out writes the Jacobian as CSV.*J.npy" -- mix --method mhc --n 4 --jacobian --out "$TMP/J.npy"
expect 1 "numerical issue.*-708" -- mix --method mhc --n 4 --tau 0.001 --init authors --jacobian
expect 2 "seeds = -1" -- mix --method mhc --n 4 --seeds -1
expect 2 "generator 'drift' is not available" -- mix --method mhc --n 4 --seeds 3 --generator drift
expect 2 "unknown generator" -- mix --method mhc --n 4 --seeds 3 --generator foo
expect 2 "n = 'abc'; expected an integer" -- mix --method mhc --n abc
expect 2 "seed = '18446744073709551616'; expected an integer in \[0, 2\^64 - 1\]" -- depth --method hc --n 4 --layers 2 --seed 18446744073709551616
expect 2 "train-res = '-1'; expected true or false" -- train --method hc --layers 2 --width 4 --steps 1 --train-res -1
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
expect 0 "train_hc_n4_L3_C8_B8: .* steps/s" -- bench train --method hc --layers 3 --width 8 --batch 8 --steps 2 --repeat 1
expect 0 "^checksum: " -- bench train --method hc --layers 3 --width 8 --batch 8 --steps 2 --repeat 1
expect 0 "depth_prefix_mhc_n4_L8_t20: .* layer-steps/s" -- bench depth --seeds 20 --layers 8 --repeat 1
expect 0 "path: scalar" -- bench depth --n 9 --seeds 3 --layers 2 --repeat 1
expect 2 "only mhc" -- bench depth --method hc
# analyze (SPEC §4 metrics of a stack; groundwork verb of the depth-analysis issue)
expect 0 "^depth,kind,fwd_gain,bwd_gain" -- analyze --input "$TMP/h20.npy"
expect 0 "wrote" -- analyze --input "$TMP/h20.npy" --lyapunov --out "$TMP/a.csv"
cp "$TMP/h20.npy" "$TMP/keep.npy"
expect 2 "out = '.*keep.npy' is the same file as input = '.*keep.npy'" -- analyze --input "$TMP/keep.npy" --out "$TMP/./keep.npy"
cmp -s "$TMP/h20.npy" "$TMP/keep.npy" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze replaced its input"; }
expect 2 "save-matrices = '.*same.csv' is the same file as out = " -- depth --method hc --n 3 --layers 2 --out "$TMP/same.csv" --save-matrices "$TMP/same.csv"
# a full disk (here a file-size limit): a clear error, no partial file under the final name, no temporary left
out=$( (ulimit -f 64; "$BIN" depth --method hc --n 4 --layers 200 --seeds 4 --out "$TMP/big.csv") 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "big.csv: cannot write: .*File too large" <<<"$out" && [ ! -e "$TMP/big.csv" ] && [ -z "$(ls "$TMP" | grep 'big.csv.tmp')" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: write beyond the file-size limit (rc=$rc): $out"; }
expect 2 "out = '.*d.npy': writes CSV; expected a path ending in .csv" -- depth --method hc --n 3 --layers 2 --out "$TMP/d.npy"
expect 2 "eigenvalues = '.*ev.txt': writes CSV" -- analyze --input "$TMP/h20.npy" --eigenvalues "$TMP/ev.txt"
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
# sizes are checked before work starts (no allocation grows until the machine gives out)
expect 2 "depth: the request needs about .* GB .*more than the limit" -- depth --method hc --n 4 --layers 1000000000
expect 2 "more than the limit of 0.001 GB \(memory-limit\)" -- depth --method hc --n 4 --layers 100000 --memory-limit 0.001
expect 2 "propagate: the request needs about" -- propagate --method hc --n 4 --layers 1000000000
expect 2 "train: the run needs about" -- train --method hc --layers 1000000000 --steps 1
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
# analyze --eigenvalues/--singular-values (dense, every depth and kind) and --topk (matrix-free, end-to-end product)
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
# The top-k σ_1..σ_6 of the end-to-end product = the dense prefix depth-3 values to 1e-10 relative
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
if command -v gnuplot >/dev/null || [ -n "${MHCLAB_GNUPLOT:-}" ]; then
  # a full disk while gnuplot renders (here a file-size limit of 8 KiB): a clear error, no truncated figure
  out=$( (ulimit -f 8; "$BIN" plot "$TMP/res.csv" --x depth --y gain --out "$TMP/full.png") 2>&1); rc=$?
  [ "$rc" = 2 ] && grep -q "full.png: cannot write" <<<"$out" && [ ! -e "$TMP/full.png" ] && pass=$((pass+1)) \
    || { fail=$((fail+1)); echo "FAIL: plot beyond the file-size limit (rc=$rc): $out"; ls -la "$TMP"/full*; }
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
# shards: two of three points' shards (one interrupted, then resumed), merged = the single-process run, byte for byte
expect 0 "shard 0/2: " -- run "$TMP/exp.toml" --shard 0/2 --out "$TMP/sh0"
MHCLAB_FAIL_AFTER=0 "$BIN" run "$TMP/exp.toml" --shard 1/2 --out "$TMP/sh1" >/dev/null 2>&1
expect 2 "point\(s\) of 3 are in no shard \(not run, or interrupted: rerun that shard with --resume\): [0-9a-f]{16} \(" -- merge "$TMP/sh0" "$TMP/sh1" --out "$TMP/shm"
expect 0 "shard 1/2: " -- run "$TMP/exp.toml" --shard 1/2 --out "$TMP/sh1" --resume
expect 0 "2 shard\(s\), 3 point\(s\)" -- merge "$TMP/sh1" "$TMP/sh0" --out "$TMP/shm"
cmp -s "$TMP/r1/rows.csv" "$TMP/shm/rows.csv" && cmp -s "$TMP/r1/aggregates.csv" "$TMP/shm/aggregates.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: merge: merged shards differ from a single-process run"; }
"$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); assert sorted(s['shard'] for s in m['shards'])==[0,1] and all(s['host'] for s in m['shards'])" "$TMP/shm/manifest.json" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: merge: manifest lists the shards"; }
expect 2 "shard 0 is given twice" -- merge "$TMP/sh0" "$TMP/sh0" --out "$TMP/shm2"
sed 's/^eta = \[0.1, -0.5\]/eta = [0.2, -0.5]/' "$TMP/exp.toml" > "$TMP/exp_other.toml"
"$BIN" run "$TMP/exp_other.toml" --shard 1/2 --out "$TMP/sho" --quiet
expect 2 "of a different grid \(grid hash [0-9a-f]{16}\)" -- merge "$TMP/sh0" "$TMP/sho" --out "$TMP/shm2"
expect 2 "holds no shard.json" -- merge "$TMP/r1" --out "$TMP/shm2"
expect 2 "expected k/N with 0 ≤ k < N" -- run "$TMP/exp.toml" --shard 2/2 --out "$TMP/shx"
[ "$("$BIN" run "$TMP/exp.toml" --dry-run --shard 0/2 | head -1)" = "shard 0/2: $(ls "$TMP/sh0/points" | grep -c '\.done$') of 3 point(s)" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run --dry-run --shard"; }
# Slurm: the scripts of a job array and its dependent merge (the local-cluster run is tests/slurm/test_slurm.sh)
expect 0 "3 point\(s\) in 2 shard\(s\)" -- run "$TMP/exp.toml" --emit-slurm "$TMP/slurm" --shards 2 --array-parallelism 1 --time 00:10:00 --cpus-per-task 2
bash -n "$TMP/slurm/shards.sbatch" && bash -n "$TMP/slurm/merge.sbatch" && bash -n "$TMP/slurm/submit.sh" && [ -x "$TMP/slurm/submit.sh" ] \
  && grep -q '^#SBATCH --array=0-1%1$' "$TMP/slurm/shards.sbatch" && grep -q '^#SBATCH --cpus-per-task=2$' "$TMP/slurm/shards.sbatch" \
  && grep -q -- "--shard \"\$k/2\" .*--resume" "$TMP/slurm/shards.sbatch" && grep -q -- "--dependency=afterok" "$TMP/slurm/submit.sh" \
  && grep -q "merge '.*/shard_0' '.*/shard_1' --out '.*/slurm/merged' --force" "$TMP/slurm/merge.sbatch" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run --emit-slurm scripts"; }
expect 2 "shards = 4; the grid has only 3 point\(s\)" -- run "$TMP/exp.toml" --emit-slurm "$TMP/slurm2" --shards 4
expect 2 "partition = 'a b'; expected a single word" -- run "$TMP/exp.toml" --emit-slurm "$TMP/slurm2" --partition "a b"
# pre-emption: SIGUSR1 (Slurm's warning) stops the run after the running point, exit 75; --resume completes it
cat > "$TMP/slow.toml" <<'TOML'
[experiment]
name = "slow"
kind = "depth"
[base]
n = 8
layers = 150
seeds = 24
[grid]
tau = [0.5, 1.0, 2.0, 4.0]
TOML
"$BIN" run "$TMP/slow.toml" --out "$TMP/slow_ref" --threads 2 --quiet
"$BIN" run "$TMP/slow.toml" --out "$TMP/slow" --threads 1 > "$TMP/slow.log" 2>&1 &
spid=$!
# signal once the run is under way: its handlers are installed before it creates the results directory
for _ in $(seq 300); do [ -d "$TMP/slow/points" ] && break; sleep 0.1; done
kill -USR1 "$spid"
wait "$spid"; rc=$?
[ "$rc" = 75 ] && grep -q "interrupted by signal 10 after [0-3] of 4 point(s)" "$TMP/slow.log" && [ ! -e "$TMP/slow/rows.csv" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: SIGUSR1 should stop the run with exit 75 (rc=$rc: $(cat "$TMP/slow.log"))"; }
"$BIN" run "$TMP/slow.toml" --out "$TMP/slow" --resume --quiet && cmp -s "$TMP/slow/rows.csv" "$TMP/slow_ref/rows.csv" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: resumed after SIGUSR1 differs from a clean run"; }
# a point file truncated at a line boundary, and a killed writer's temporary: --resume runs the point again and
# cleans up, and the merged rows are still a clean run's
p1=$(ls "$TMP/r3/points" | grep '\.csv$' | head -1)
head -n 2 "$TMP/r3/points/$p1" > "$TMP/trunc.csv" && mv "$TMP/trunc.csv" "$TMP/r3/points/$p1"
echo junk > "$TMP/r3/points/$p1.tmp.99999.0"
out=$("$BIN" run "$TMP/exp.toml" --out "$TMP/r3" --resume 2>&1)
grep -q "does not match its record" <<<"$out" && grep -q "(1 run, 2 reused)" <<<"$out" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: truncated point not rerun: $out"; }
cmp -s "$TMP/r1/rows.csv" "$TMP/r3/rows.csv" && cmp -s "$TMP/r1/aggregates.csv" "$TMP/r3/aggregates.csv" && [ ! -e "$TMP/r3/points/$p1.tmp.99999.0" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: a truncated point file was merged or a stale temporary kept"; }
# kill -9 at arbitrary moments (five times), then --resume: nothing finished is lost, nothing half-written is merged,
# and the result is byte-identical to an uninterrupted run
cat > "$TMP/kill.toml" <<'TOML'
[experiment]
name = "killed"
kind = "depth"
seed = 5
[base]
n = 4
layers = 150
generator = "drift"
steps = 1
seeds = 4
[grid]
method = ["hc", "mhc", "mhc-lite", "tbp", "isohc", "circulant"]
eta = [0.05, 0.2]
[[plot]]
name = "g"
x = "depth"
y = "log10_bwd_gain"
group = "method"
where = { kind = "suffix" }
TOML
"$BIN" run "$TMP/kill.toml" --out "$TMP/k_ref" --threads 2 >/dev/null 2>&1
for delay in 0.2 0.5 1.0 0.7 1.2; do
  if [ -d "$TMP/k_run" ]; then "$BIN" run "$TMP/kill.toml" --out "$TMP/k_run" --threads 2 --resume >/dev/null 2>&1 &
  else "$BIN" run "$TMP/kill.toml" --out "$TMP/k_run" --threads 2 >/dev/null 2>&1 & fi
  kpid=$!; sleep "$delay"; kill -9 "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
done
if [ -d "$TMP/k_run" ]; then out=$("$BIN" run "$TMP/kill.toml" --out "$TMP/k_run" --threads 2 --resume 2>&1)
else out=$("$BIN" run "$TMP/kill.toml" --out "$TMP/k_run" --threads 2 2>&1); fi
cmp -s "$TMP/k_ref/rows.csv" "$TMP/k_run/rows.csv" && cmp -s "$TMP/k_ref/aggregates.csv" "$TMP/k_run/aggregates.csv" \
  && [ -z "$(find "$TMP/k_run" -name '*.tmp*')" ] && pass=$((pass+1)) \
  || { fail=$((fail+1)); echo "FAIL: run: killed five times then resumed, the result differs from a clean run: $out"; }
# two runs into one directory: the second is refused while the first holds the directory's lock
echo '{"pid": 4242, "host": "node7", "started": "2026-01-01T00:00:00Z"}' > "$TMP/r3/lock.json"
out=$(flock -n "$TMP/r3" "$BIN" run "$TMP/exp.toml" --out "$TMP/r3" --resume 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "another mhclab run (pid 4242 on node7, since 2026-01-01T00:00:00Z) is writing into this directory" <<<"$out" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: lock (rc=$rc): $out"; }
expect 0 "3 run" -- run "$TMP/exp.toml" --out "$TMP/r3" --force
sed 's/seed = 9/seed = 10/' "$TMP/exp.toml" > "$TMP/exp2.toml"
expect 2 "different grid" -- run "$TMP/exp2.toml" --out "$TMP/r3" --resume
mkdir -p "$TMP/mine" && echo x > "$TMP/mine/notes.txt"
expect 2 "does not look like an mhclab results directory" -- run "$TMP/exp.toml" --out "$TMP/mine" --force
mkdir -p "$TMP/other" && echo '{"version": 1}' > "$TMP/other/manifest.json" && echo '[]' > "$TMP/other/sweep.json"
expect 2 "does not look like an mhclab results directory" -- run "$TMP/exp.toml" --out "$TMP/other" --force
[ -e "$TMP/other/manifest.json" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run --force deleted another tool's directory"; }
# bad experiment files: file, line and key
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\nitres = 3\n' > "$TMP/bad1.toml"
expect 2 "bad1.toml:6: unknown key 'itres' for kind 'depth'" -- run "$TMP/bad1.toml" --dry-run
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\n[grid]\nlayers = [4, "x"]\n' > "$TMP/bad2.toml"
expect 2 "bad2.toml:6: key 'layers' = x" -- run "$TMP/bad2.toml" --dry-run
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\nmethod = "mhc"\ndomain = "log"\n[grid]\nprecision = ["fp64", "bf16"]\n' > "$TMP/bad3.toml"
expect 2 "bad3.toml:9: key 'precision' = bf16.*exp domain only" -- run "$TMP/bad3.toml" --dry-run
printf '[experiment]\nkind = "depth"\nname = ".."\n[base]\nn = 3\nlayers = 4\n' > "$TMP/escape.toml"
expect 2 "escape.toml:3: \[experiment\] name = '..' starts with '.'" -- run "$TMP/escape.toml"
"$PY" -c "import sys; open(sys.argv[1], 'w').write('[experiment]\\nkind = \"depth\"\\n[base]\\nx = ' + '{a = ' * 50000 + '\\n')" "$TMP/deep.toml"
expect 2 "deep.toml:4: nested more than 64 levels deep" -- run "$TMP/deep.toml"
printf '[experiment]\nkind = "fitt"\n' > "$TMP/bad4.toml"
expect 2 "kind = .fitt.; expected depth|propagate|mix|train|fit" -- run "$TMP/bad4.toml"
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\nout = "x.csv"\n' > "$TMP/bad5.toml"
expect 2 "bad5.toml:6: key 'out' is set by .mhclab run." -- run "$TMP/bad5.toml"
printf '[experiment]\nkind = "depth"\n[base]\nn = 3\nlayers = 4\n[[plot]]\nname = "p"\nx = "depth"\ny = "nope"\n' > "$TMP/bad6.toml"
expect 2 "bad6.toml:6: .*nope" -- run "$TMP/bad6.toml" --out "$TMP/r6"
expect 2 "nofile.toml" -- run "$TMP/nofile.toml"
out=$(MHCLAB_FAIL_AFTER=x "$BIN" run "$TMP/exp.toml" --out "$TMP/r7" 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "MHCLAB_FAIL_AFTER = 'x'" <<<"$out" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run: bad MHCLAB_FAIL_AFTER: $out"; }
# ---- notebook (notebooks_cpp/) ---------------------------------------------------------------------
expect 0 "^01_seed_walkthrough$" -- notebook --list
expect 2 "unknown notebook 'nope'; expected one of 01_seed_walkthrough" -- notebook nope
expect 2 "NAME is required" -- notebook
expect 0 "01_seed_walkthrough: .*nb/01_seed_walkthrough.md, .*nb/01_seed_walkthrough.ipynb" -- notebook 01_seed_walkthrough --fast --out "$TMP/nb"
touch "$TMP/notadir"
expect 2 "notadir" -- notebook 01_seed_walkthrough --fast --out "$TMP/notadir"
# ---- train (SPEC §7) -----------------------------------------------------------------------------
T="--method hc --n 4 --layers 3 --width 8 --batch 40 --probe-tokens 2"  # 3 gradient chunks
expect 0 "status completed" -- train $T --steps 5 --out "$TMP/t1" --threads 1
for f in steps.csv h_res.npy config.toml manifest.json; do
  [ -s "$TMP/t1/$f" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: train: $f missing"; }
done
[ "$(head -1 "$TMP/t1/steps.csv")" = "step,loss,accuracy,grad_norm,fwd_amax_max,log10_fwd_amax_max,fwd_amax_min,log10_fwd_amax_min,bwd_amax_max,log10_bwd_amax_max,bwd_amax_min,log10_bwd_amax_min,jac_smax_min,jac_smax_max,sigma_min_product,log10_sigma_min_product,dominant_share,stream_correlation,pre_1,pre_2,pre_3,pre_4,post_1,post_2,post_3,post_4" ] \
  && [ "$(wc -l < "$TMP/t1/steps.csv")" = 7 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: train: steps.csv header/rows"; head -2 "$TMP/t1/steps.csv"; }
$PY -c "import sys,numpy as np; a=np.load(sys.argv[1]); sys.exit(0 if a.shape==(2,3,4,4) else 1)" "$TMP/t1/h_res.npy" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: train: h_res.npy shape"; }
grep -q '"status": "completed"' "$TMP/t1/manifest.json" && grep -q '"snapshot_steps": \[' "$TMP/t1/manifest.json" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: train: manifest"; }
# the trained generator reads the run's snapshots (steps 0 and 5) as stacks
expect 0 "^0,0,1,prefix," -- depth --method hc --n 4 --generator trained --input "$TMP/t1" --kinds prefix --metrics fwd_gain
[ "$("$BIN" depth --method hc --n 4 --generator trained --input "$TMP/t1" --kinds prefix --metrics fwd_gain | cut -d, -f2 | sort -u | tr '\n' ' ')" = "0 5 step " ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: depth --generator trained: steps 0 and 5"; }
expect 2 "no snapshot at step 3" -- depth --method hc --n 4 --generator trained --input "$TMP/t1" --steps 3
expect 2 "manifest.json" -- depth --method hc --n 4 --generator trained --input "$TMP/nb"
expect 0 "status completed" -- train $T --steps 5 --out "$TMP/t2" --threads 2
cmp -s "$TMP/t1/steps.csv" "$TMP/t2/steps.csv" && cmp -s "$TMP/t1/h_res.npy" "$TMP/t2/h_res.npy" && pass=$((pass+1)) \
  || { fail=$((fail+1)); echo "FAIL: train: results depend on --threads"; }
expect 2 "not empty.*--force" -- train $T --steps 5 --out "$TMP/t1"
expect 0 "status completed" -- train $T --steps 5 --out "$TMP/t1" --force
# the resolved config re-runs the same training; the command line overrides the file
expect 0 "status completed" -- train "$TMP/t1/config.toml" --out "$TMP/t3"
cmp -s "$TMP/t1/steps.csv" "$TMP/t3/steps.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: train: config.toml does not reproduce"; }
expect 0 "status completed, 2 step" -- train "$TMP/t1/config.toml" --steps 2
printf '[train]\nmethod = "hc"\nlayers = 2\nwidth = 4\nlerning-rate = 0.1\n' > "$TMP/tbad.toml"
expect 2 "tbad.toml:5: unknown key 'lerning-rate'" -- train "$TMP/tbad.toml"
printf 'method = "hc"\nlayers = "x"\n' > "$TMP/tbad2.toml"
expect 2 "tbad2.toml:2: key 'layers'" -- train "$TMP/tbad2.toml"
expect 2 "lr = 0; must be > 0" -- train $T --lr 0
# dynamic mappings: (steps, tokens, L, n, n) and the bias snapshot
expect 0 "status completed" -- train $T --mapping dynamic --task clusters --steps 3 --snapshot-steps 0,1,3 --out "$TMP/t4"
$PY -c "import sys,numpy as np; a=np.load(sys.argv[1]+'/h_res.npy'); b=np.load(sys.argv[1]+'/h_res_bias.npy'); sys.exit(0 if a.shape==(3,2,3,4,4) and b.shape==(3,3,4,4) else 1)" "$TMP/t4" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: train: dynamic snapshot shapes"; }
# divergence: status diverged, exit 0, nothing non-finite written
expect 0 "status diverged at step" -- train $T --optimizer sgd --lr 1e6 --steps 30 --out "$TMP/t5"
grep -q '"status": "diverged"' "$TMP/t5/manifest.json" && ! tail -n +2 "$TMP/t5/steps.csv" | grep -qiE 'nan|inf' && pass=$((pass+1)) \
  || { fail=$((fail+1)); echo "FAIL: train: diverged run"; }
# the train kind of `mhclab run`
cat > "$TMP/texp.toml" <<'TOML'
[experiment]
name = "tr"
kind = "train"
seed = 4
[base]
method = "hc"
layers = 2
width = 4
batch = 8
steps = 3
[grid]
lr = [0.001, 0.01]
TOML
expect 0 "2 point\(s\) \(2 run" -- run "$TMP/texp.toml" --out "$TMP/tr2" --threads 2
[ "$(grep -c . "$TMP/tr2/rows.csv")" = 9 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run train: rows.csv"; head -3 "$TMP/tr2/rows.csv"; }
# ---- safetensors (--tensor): identical output to the same data as .npy --------------------------------------------
same_output() {  # same_output LABEL -- analyze args for npy ... --- analyze args for safetensors ...
  local label="$1"; shift 2
  local a=() b=() side=a
  for x in "$@"; do if [ "$x" = "---" ]; then side=b; elif [ $side = a ]; then a+=("$x"); else b+=("$x"); fi; done
  local oa ob
  oa=$("$BIN" analyze "${a[@]}" 2>&1) && ob=$("$BIN" analyze "${b[@]}" 2>&1) && [ -n "$oa" ] && [ "$oa" = "$ob" ] \
    && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: safetensors $label: output differs from .npy"; }
}
same_output to_from -- --input "$TMP/asym.npy" --- --input "$TMP/m.safetensors" --tensor model.h_res
same_output from_to -- --input "$TMP/asym.npy" --layout from_to --lyapunov --- --input "$TMP/m.safetensors" --tensor model.h_res --layout from_to --lyapunov
same_output token_metric -- --input "$TMP/tok.npy" --token-average metric --- --input "$TMP/m.safetensors" --tensor model.tok --token-average metric
same_output params -- --input "$TMP/par.npy" --input-kind params --method tbp --n 3 --- --input "$TMP/m.safetensors" --tensor model.theta --input-kind params --method tbp --n 3
# the layout really matters for this stack (from_to differs from to_from)
[ "$("$BIN" analyze --input "$TMP/m.safetensors" --tensor model.h_res 2>&1)" != "$("$BIN" analyze --input "$TMP/m.safetensors" --tensor model.h_res --layout from_to 2>&1)" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: safetensors: --layout from_to has no effect"; }
expect 0 "wrote" -- depth --method hc --n 3 --generator file --input "$TMP/m.safetensors" --tensor model.h_res --out "$TMP/dst.csv"
expect 2 "m.safetensors: .*--tensor NAME.*model.h_res, model.steps, model.theta, model.tok" -- analyze --input "$TMP/m.safetensors"
expect 2 "no tensor 'nope'.*model.h_res" -- analyze --input "$TMP/m.safetensors" --tensor nope
expect 2 "--tensor 'model.h_res'.*asym.npy is not one" -- analyze --input "$TMP/asym.npy" --tensor model.h_res
expect 2 "dtype I64 is not a floating-point type" -- analyze --input "$TMP/m.safetensors" --tensor model.steps
expect 2 "bad.safetensors: tensor 'a': data_offsets \[0, 99\] out of range" -- analyze --input "$TMP/bad.safetensors" --tensor a
expect 2 "junk.safetensors: header length .* exceeds" -- analyze --input "$TMP/junk.safetensors" --tensor a
expect 2 "tensor is only for generator 'file'" -- depth --method hc --n 3 --layers 4 --tensor x
expect 2 "cannot write .safetensors" -- mix --method hc --n 3 --out "$TMP/o.safetensors"
# ---- fit (expressivity) -----------------------------------------------------------------------------------------
expect 0 "^seed,reach_err,reach_status,fit_residual_fro,fit_residual_max,initial_residual_fro,fit_steps_run$" -- fit --method hc --n 4 --seeds 2 --fit-steps 10
"$BIN" fit --method hc --n 4 --seeds 3 --seed 5 --threads 1 --out "$TMP/f1.csv" 2>/dev/null
"$BIN" fit --method hc --n 4 --seeds 3 --seed 5 --threads 2 --out "$TMP/f2.csv" 2>/dev/null
cmp -s "$TMP/f1.csv" "$TMP/f2.csv" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: fit output differs between 1 and 2 threads"; }
# hc: reach exact (0), default budget fits to <= 1e-8, 2000 steps; seeds 5..7
chk=$(awk -F, 'NR>1 { if (!($2 == 0 && $3 == "ok" && $4 <= 1e-8 && $7 == 2000 && $1 == 4 + NR - 1)) bad = bad " " $0 } END { print (NR == 4 && bad == "") ? "ok" : "bad" bad }' "$TMP/f1.csv")
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: fit hc rows: $chk"; }
# fit-steps 0 needs no backward: the reach columns of every method (kromhc: no chart, empty reach_err)
expect 0 "^0,,no_chart,.*,0$" -- fit --method kromhc --n 4 --fit-steps 0
chk=$("$BIN" fit --method mhc --n 8 --fit-steps 0 --seeds 2 | awk -F, 'NR>1 { if (!($3 == "ok" && $2 <= 1e-12 && $2 != "")) bad = 1 } END { print bad ? "bad" : "ok" }')
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: fit mhc reach_err > 1e-12"; }
expect 0 ",ok," -- fit --method mhc-lite --n 4 --fit-steps 0 --minorize 0.05
# lazy 0.5 needs T_ii ≥ 0.5: these targets (diagonal ≈ 1/n) are outside the lazy image
expect 0 ",outside," -- fit --method mhc-lite --n 4 --fit-steps 0 --lazy 0.5
expect 0 ",outside," -- fit --method tbp --n 4 --fit-steps 0 --minorize 0.9 --uniform-mix 0
expect 2 "target = 'foo'; expected birkhoff" -- fit --method hc --n 4 --target foo
expect 2 "dirichlet-alpha = 0; must be > 0" -- fit --method hc --n 4 --dirichlet-alpha 0
expect 2 "uniform-mix = 2; must be in \[0, 1\]" -- fit --method hc --n 4 --uniform-mix 2
expect 2 "fit-lr = -1; must be > 0" -- fit --method hc --n 4 --fit-lr -1
expect 2 "fit-steps = -3; must be ≥ 0" -- fit --method hc --n 4 --fit-steps -3
expect 2 "seeds = 0; must be ≥ 1" -- fit --method hc --n 4 --seeds 0
expect 2 "n = 10; .*n ≤ 9" -- fit --method hc --n 10
expect 2 "unknown method 'foo'" -- fit --method foo --n 4
EXP_DIR="$(cd "$(dirname "$0")/../../experiments" && pwd)"
expect 0 "expressivity" -- run "$EXP_DIR/expressivity.toml" --dry-run
[ "$("$BIN" run "$EXP_DIR/expressivity.toml" --dry-run | grep -cE '^[0-9]+,')" = 12 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: expressivity dry-run should list 12 points"; }
printf '[experiment]\nkind = "fit"\n[base]\nn = 3\nmethod = "hc"\nfit-steps = 20\nseeds = 2\n[grid]\nuniform-mix = [0.1, 0.5]\n' > "$TMP/fit.toml"
expect 0 "2 point\(s\) \(2 run" -- run "$TMP/fit.toml" --out "$TMP/rf"
head -1 "$TMP/rf/rows.csv" | grep -q "seed,reach_err,reach_status,fit_residual_fro" && [ "$(wc -l < "$TMP/rf/rows.csv")" = 5 ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run kind fit rows: $(head -2 "$TMP/rf/rows.csv")"; }
printf '[experiment]\nkind = "fit"\n[base]\nn = 3\nfit-lr = 0\n' > "$TMP/fitbad.toml"
expect 2 "fitbad.toml.*fit-lr = 0" -- run "$TMP/fitbad.toml" --dry-run
# parameters as a matrix (hc/mhc/tropical: the (n, n) logits; same θ as the flat vector, row-major)
expect 0 "status=fixed_iterations" -- mix --method mhc --n 4 --logits "$TMP/z44.npy"
[ "$("$BIN" mix --method mhc --n 4 --logits "$TMP/z44.npy")" = "$("$BIN" mix --method mhc --n 4 --logits "$TMP/ok16.npy")" ] \
  && [ "$("$BIN" mix --method hc --n 4 --logits "$TMP/z44.csv")" = "$("$BIN" mix --method hc --n 4 --logits "$TMP/ok16.npy")" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: mix --logits (4, 4) differs from the flat (16,) vector"; }
expect 2 "z44.npy: shape \(4, 4\); expected shape \(24,\)" -- mix --method mhc-lite --n 4 --logits "$TMP/z44.npy"
expect 2 "z44.npy: shape \(4, 4\); expected shape \(9,\) or \(3, 3\)" -- mix --method mhc --n 3 --logits "$TMP/z44.npy"
# depth: --kinds / --metrics / --engine (kinds/depth.hpp)
expect 0 "wrote" -- depth --method mhc --n 4 --layers 6 --seeds 3 --out "$TMP/dfull.csv"
expect 0 "wrote" -- depth --method mhc --n 4 --layers 6 --seeds 3 --kinds suffix,prefix --metrics sigma_max,fwd_gain --engine dense --out "$TMP/dsel.csv"
[ "$(head -1 "$TMP/dsel.csv")" = "seed,step,depth,kind,fwd_gain,sigma_max" ] && [ "$(wc -l < "$TMP/dsel.csv")" = 37 ] \
  && [ "$(awk -F, 'NR>1 && $4!="layer" {print $1,$2,$3,$4,$5,$14}' "$TMP/dfull.csv")" = "$(awk -F, 'NR>1 {print $1,$2,$3,$4,$5,$6}' "$TMP/dsel.csv")" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: depth --kinds/--metrics is not the matching part of the full table"; }
expect 0 "^seed,step,depth,kind,fwd_gain,bwd_gain,sigma_max$" -- depth --method mhc --n 4 --layers 4 --seeds 20 --kinds prefix --metrics fwd_gain,bwd_gain,sigma_max
expect 2 "unknown kind 'prefx'" -- depth --method mhc --n 4 --layers 4 --kinds prefx
expect 2 "unknown column 'gain'" -- depth --method mhc --n 4 --layers 4 --metrics gain
expect 2 "metrics = 'fwd_gain,'" -- depth --method mhc --n 4 --layers 4 --metrics fwd_gain,
expect 2 "engine = stream: the stream engine runs method mhc only" -- depth --method hc --n 4 --layers 4 --metrics fwd_gain --engine stream
expect 2 "unknown engine 'fast'" -- depth --method mhc --n 4 --layers 4 --engine fast
expect 0 "^depth,kind,collapse$" -- analyze --input "$TMP/h20.npy" --kinds prefix --metrics collapse
[ "$("$BIN" analyze --input "$TMP/h20.npy" --kinds prefix --metrics collapse | wc -l)" = 21 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze --kinds prefix should write 20 rows"; }
expect 0 "^step,depth,kind,metric,count,mean,sd,median,q05,q95,ci95_lo,ci95_hi$" -- depth --method hc --n 3 --layers 4 --seeds 5 --kinds suffix --metrics fwd_gain --aggregate
[ "$("$BIN" depth --method hc --n 3 --layers 4 --seeds 5 --kinds suffix --metrics fwd_gain --aggregate | sed -n 2p | cut -d, -f1-5)" = "0,1,suffix,fwd_gain,5" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: depth --aggregate first row"; }
# ---- the 2026 zoo: go-mhc, circulant, cayley, shc, isohc ------------------------------------------------------------
zoo_mix() {  # zoo_mix ARGS...: mix exits 0 and prints a 4×4 matrix (4 rows of 4 numbers) and the status line
  local out rc
  out=$("$BIN" mix "$@" 2>&1); rc=$?
  if [ "$rc" -eq 0 ] && [ "$(grep -cE '^-?[0-9][^ ]*( -?[0-9][^ ]*){3}$' <<<"$out")" -eq 4 ] && grep -q "status=none" <<<"$out"; then
    pass=$((pass+1))
  else fail=$((fail+1)); echo "FAIL: mhclab mix $* -> rc=$rc, want a 4×4 matrix; output:"; echo "$out" | head -c 1500; echo; fi
}
zoo_mix --method circulant --n 4 --gamma 0.015625 --logits "$TMP/z4.npy"
zoo_mix --method go-mhc --n 4 --go-s 2
zoo_mix --method cayley --n 4
zoo_mix --method shc --n 4
zoo_mix --method isohc --n 4
# the leaky circulant of z4.npy: circulant (H[i][j] = H[0][(j − i) mod 4]), diagonal ≥ 1 − γ, off-diagonal ≤ γ
chk=$("$BIN" mix --method circulant --n 4 --gamma 0.015625 --logits "$TMP/z4.npy" | head -4 | awk -v g=0.015625 '
  { for (j = 1; j <= 4; j++) H[NR - 1, j - 1] = $j }
  END { bad = 0
    for (i = 0; i < 4; i++) for (j = 0; j < 4; j++) {
      if (H[i, j] != H[0, (j - i + 4) % 4]) bad = 1
      if (i == j && H[i, j] < 1 - g) bad = 1
      if (i != j && (H[i, j] > g || H[i, j] <= 0)) bad = 1 }
    print (NR == 4 && !bad) ? "ok" : "bad" }')
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: mix circulant --gamma 0.015625: not a leaky circulant"; }
expect 2 "gamma = 0; must be in \(0, 1]" -- mix --method circulant --n 4 --gamma 0
expect 2 "go-s = 0; must be in 1\.\.64" -- mix --method go-mhc --n 4 --go-s 0
# analyze a (L, 4) stack of circulant logits z: 5 layers × 3 kinds; every product is circulant, hence normal, so
# sigma_max = spectral_radius = 1 (the DS Perron root) at every depth; γ changes the result
expect 0 "^depth,kind,fwd_gain" -- analyze --input "$TMP/par.npy" --input-kind params --method circulant --n 4 --gamma 0.5
chk=$("$BIN" analyze --input "$TMP/par.npy" --input-kind params --method circulant --n 4 --gamma 0.5 | awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { s = $col["sigma_max"] - 1; r = $col["spectral_radius"] - 1; if (s < 0) s = -s; if (r < 0) r = -r
    if (s > 1e-12 || r > 1e-12) bad = 1; rows++ }
  END { print (rows == 15 && !bad) ? "ok" : "bad rows=" rows }')
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze circulant params: $chk"; }
[ "$("$BIN" analyze --input "$TMP/par.npy" --input-kind params --method circulant --n 4 --gamma 0.5 2>&1)" != \
  "$("$BIN" analyze --input "$TMP/par.npy" --input-kind params --method circulant --n 4 2>&1)" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze circulant: --gamma has no effect"; }
# ---- conform: a kernel's outputs against the fp64 reference (exit 0 pass, 1 FAIL with a diagnosis, 2 bad input) ----
# cL3.npy: a (3, 4, 4) batch of dsv4 comb logits [from, to]; the "kernel" outputs come from `mhclab mix` (fp64, and its
# bf16 emulation), stacked by Python into (3, 4, 4) in paper orientation (cH3), transposed (cHt3) and bf16 (cB3).
$PY - "$TMP" <<'PYEOF'
import struct, sys, os, math
d = sys.argv[1]
def npy(name, shape, vals):
    h = "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }" % ('(' + ''.join('%d, ' % s for s in shape) + ')')
    h = h.encode('latin1'); h += b' ' * (64 - (10 + len(h) + 1) % 64) + b'\n'
    open(os.path.join(d, name), 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + struct.pack('<%dd' % len(vals), *vals))
allv = []
for b in range(3):
    v = [2.0 * math.sin(1.7 * k + 0.3 * k * k + b) for k in range(16)]
    npy('cl%d.npy' % b, (4, 4), v); allv += v
npy('cL3.npy', (3, 4, 4), allv)
PYEOF
for k in 0 1 2; do
  "$BIN" mix --method dsv4 --n 4 --logits "$TMP/cl$k.npy" --out "$TMP/ch$k.npy" >/dev/null
  "$BIN" mix --method dsv4 --n 4 --logits "$TMP/cl$k.npy" --precision bf16 --out "$TMP/cb$k.npy" >/dev/null
done
$PY - "$TMP" <<'PYEOF'
import struct, sys, os
d = sys.argv[1]
def load(name):  # a (4, 4) float64 .npy written by mhclab
    b = open(os.path.join(d, name), 'rb').read(); hl = struct.unpack('<H', b[8:10])[0]
    return list(struct.unpack('<16d', b[10 + hl:]))
def npy(name, shape, vals):
    h = "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }" % ('(' + ''.join('%d, ' % s for s in shape) + ')')
    h = h.encode('latin1'); h += b' ' * (64 - (10 + len(h) + 1) % 64) + b'\n'
    open(os.path.join(d, name), 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + struct.pack('<%dd' % len(vals), *vals))
H = [load('ch%d.npy' % b) for b in range(3)]
npy('cH3.npy', (3, 4, 4), sum(H, []))
npy('cHt3.npy', (3, 4, 4), sum([[h[4 * j + i] for i in range(4) for j in range(4)] for h in H], []))
npy('cB3.npy', (3, 4, 4), sum([load('cb%d.npy' % b) for b in range(3)], []))
PYEOF
expect 0 "^pass$" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cH3.npy" --method dsv4
expect 0 "^err_max +0 +0 +0 +0$" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cH3.npy" --method dsv4
expect 0 "method=dsv4 n=4 batch=3 layout=from_to" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cHt3.npy" --method dsv4 --layout from_to
expect 1 "FAIL: transposed: .*--layout from_to" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cHt3.npy" --method dsv4
expect 1 "FAIL: precision_bf16: matches bf16 arithmetic" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cB3.npy" --method dsv4
expect 0 "^pass$" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cB3.npy" --method dsv4 --tolerance 0.02
expect 1 "FAIL: " -- conform --logits "$TMP/cL3.npy" --output "$TMP/cH3.npy" --method mhc --out "$TMP/conform.csv"
[ "$(head -1 "$TMP/conform.csv")" = "matrix,err_max,err_rel,row_err,col_err,ref_row_err,ref_col_err,dist_projection,grad_err_max,grad_err_rel" ] \
  && [ "$(wc -l <"$TMP/conform.csv")" -eq 4 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: conform --out table"; }
expect 2 "missing.npy: cannot read" -- conform --logits "$TMP/cL3.npy" --output "$TMP/missing.npy" --method dsv4
expect 2 "z44.npy: the output holds 1 matrix 4 × 4.*expected 3 matrices 4 × 4 like the logits.*\(3, 4, 4\)" -- conform --logits "$TMP/cL3.npy" --output "$TMP/z44.npy" --method dsv4
expect 2 "cL3.npy: matrices are 4 × 4; expected n = 3" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cH3.npy" --method dsv4 --n 3
expect 2 "--grad-in .*go together" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cH3.npy" --method dsv4 --grad-in "$TMP/cH3.npy"
expect 2 "precision = bf16; the reference is fp64" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cH3.npy" --method dsv4 --precision bf16
expect 2 "does not take an n×n logit matrix" -- conform --logits "$TMP/cL3.npy" --output "$TMP/cH3.npy" --method kromhc
expect 2 "--output is required" -- conform --logits "$TMP/cL3.npy" --method dsv4
# ---- production checkpoints: dsv4 mix, analyze --checkpoint on a sharded DeepSeek-V4-layout checkpoint ----------------
# ck/: two shards + model.safetensors.index.json, 3 layers × (attn, ffn) sites (F32 fn/base/scale), an MTP block and
# an unrelated BF16 tensor; ckh.npy: per-token residual states (5 tokens, 6 sites, 4, 8); ckhole/: layer 1 ffn missing.
$PY - "$TMP" <<'PYEOF'
import struct, sys, os, json, math, random
d = sys.argv[1]
random.seed(3)
n, C, L = 4, 8, 3; m = (2 + n) * n
def st(path, tensors):  # tensors: name -> (dtype, shape, packed bytes)
    hdr, off, data = {}, 0, b''
    for k in sorted(tensors):
        dt, shape, b = tensors[k]; hdr[k] = {'dtype': dt, 'shape': list(shape), 'data_offsets': [off, off + len(b)]}
        off += len(b); data += b
    h = json.dumps(hdr).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + data)
def f32(v): return struct.pack('<%df' % len(v), *v)
t = {}
for l in range(L):
    for s in ('attn', 'ffn'):
        b = [random.gauss(0, 0.5) for _ in range(m)]
        for j in range(n): b[2 * n + j * n + j] += 4.0
        t['layers.%d.hc_%s_base' % (l, s)] = ('F32', (m,), f32(b))
        t['layers.%d.hc_%s_fn' % (l, s)] = ('F32', (m, n * C), f32([random.gauss(0, 0.2) for _ in range(m * n * C)]))
        t['layers.%d.hc_%s_scale' % (l, s)] = ('F32', (3,), f32([0.1, 0.1, 0.1]))
t['mtp.0.hc_attn_base'] = ('F32', (m,), f32([0.0] * m))
t['embed.weight'] = ('BF16', (2, 2), struct.pack('<4H', 0x3f80, 0, 0, 0x3f80))
os.makedirs(os.path.join(d, 'ck')); os.makedirs(os.path.join(d, 'ckhole'))
keys = sorted(t); a = keys[:len(keys) // 2]; b = keys[len(keys) // 2:]
st(os.path.join(d, 'ck', 'model-00001-of-00002.safetensors'), {k: t[k] for k in a})
st(os.path.join(d, 'ck', 'model-00002-of-00002.safetensors'), {k: t[k] for k in b})
wm = {k: 'model-00001-of-00002.safetensors' for k in a}; wm.update({k: 'model-00002-of-00002.safetensors' for k in b})
json.dump({'metadata': {}, 'weight_map': wm}, open(os.path.join(d, 'ck', 'model.safetensors.index.json'), 'w'))
st(os.path.join(d, 'ckhole', 'model.safetensors'), {k: v for k, v in t.items() if k != 'layers.1.hc_ffn_base'})
vals = [random.gauss(0, 1) for _ in range(5 * 2 * L * n * C)]
h = ("{'descr': '<f8', 'fortran_order': False, 'shape': (5, %d, %d, %d), }" % (2 * L, n, C)).encode('latin1')
h += b' ' * (64 - (10 + len(h) + 1) % 64) + b'\n'
open(os.path.join(d, 'ckh.npy'), 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + struct.pack('<%dd' % len(vals), *vals))
# the first site's comb logits as a (4, 4) [from, to] array, and the deployed comb computed here (softmax over k, + eps,
# columns, then 19 × (rows, columns), each by (sum + eps)); printed transposed (paper orientation)
bl = struct.unpack('<%df' % m, t['layers.0.hc_attn_base'][2])[2 * n:]
Lm = [[bl[j * n + k] for k in range(n)] for j in range(n)]
hh = ("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 4), }").encode('latin1'); hh += b' ' * (64 - (10 + len(hh) + 1) % 64) + b'\n'
open(os.path.join(d, 'ckL.npy'), 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hh)) + hh + struct.pack('<16d', *[x for r in Lm for x in r]))
eps = 1e-6
c = []
for j in range(n):
    mx = max(Lm[j]); e = [math.exp(x - mx) for x in Lm[j]]; s = sum(e); c.append([x / s + eps for x in e])
def cols():
    for k in range(n):
        s = sum(c[j][k] for j in range(n)) + eps
        for j in range(n): c[j][k] /= s
def rows():
    for j in range(n):
        s = sum(c[j]) + eps; c[j] = [x / s for x in c[j]]
cols()
for _ in range(19): rows(); cols()
open(os.path.join(d, 'ckH.txt'), 'w').write('\n'.join(' '.join(repr(c[j][i]) for j in range(n)) for i in range(n)) + '\n')
PYEOF
chk=$("$BIN" mix --method dsv4 --n 4 --logits "$TMP/ckL.npy" | head -4 | paste -d' ' - "$TMP/ckH.txt" 2>/dev/null | awk '
  { if (NF != 8) bad = 1; for (j = 1; j <= 4; j++) { d = $j - $(j + 4); if (d < 0) d = -d; if (d > 1e-12) bad = 1 } }
  END { print (NR == 4 && !bad) ? "ok" : "bad" }')
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: mix --method dsv4: not the deployed combᵀ"; }
expect 0 "status=fixed_iterations" -- mix --method dsv4 --n 4 --logits "$TMP/ckL.npy" --eps 0 --iters 5
expect 2 "exp domain only" -- mix --method dsv4 --n 4 --logits "$TMP/ckL.npy" --domain log
expect 2 "eps = 'x'; expected a number" -- mix --method dsv4 --n 4 --eps x
# mhc --projection newton: the converged projection, both margins at round-off
expect 0 "row_err=[0-9.e-]+ col_err=[0-9.]+e-1[4-7] .*status=converged" -- mix --method mhc --n 4 --projection newton --logits "$TMP/z44.npy"
expect 2 "projection = newton .* eps = 0" -- mix --method mhc --n 4 --projection newton --eps 1e-6
# analyze --checkpoint: 6 sites (3 layers × attn, ffn) per kind; the index file and the directory give the same bytes
expect 0 "^depth,kind,fwd_gain,sigma_min$" -- analyze --checkpoint "$TMP/ck" --kinds prefix --metrics fwd_gain,sigma_min
[ "$("$BIN" analyze --checkpoint "$TMP/ck" --kinds prefix 2>/dev/null | wc -l)" = "7" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze --checkpoint: not 6 sites"; }
[ "$("$BIN" analyze --checkpoint "$TMP/ck" 2>/dev/null)" = "$("$BIN" analyze --checkpoint "$TMP/ck/model.safetensors.index.json" 2>/dev/null)" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze --checkpoint: directory and index differ"; }
# forward gain of the prefix at depth d is 1 − O(ε·d) (rows sum to 1 − ε): between 1 − 2e-6·d and 1
chk=$("$BIN" analyze --checkpoint "$TMP/ck" --kinds prefix --metrics fwd_gain 2>/dev/null | awk -F, 'NR > 1 { if ($3 > 1 || $3 < 1 - 2e-6 * $1) bad = 1; rows++ } END { print (rows == 6 && !bad) ? "ok" : "bad" }')
[ "$chk" = "ok" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze --checkpoint fwd_gain not 1 − O(εd)"; }
"$BIN" analyze --checkpoint "$TMP/ck" --gates "$TMP/gates.csv" >/dev/null 2>&1
[ "$(head -1 "$TMP/gates.csv")" = "site,layer,name,pre_0,pre_1,pre_2,pre_3,post_0,post_1,post_2,post_3" ] && \
  [ "$(cut -d, -f1-3 "$TMP/gates.csv" | sed -n '2p;7p' | tr '\n' ' ')" = "0,0,attn 5,2,ffn " ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: analyze --gates"; }
expect 0 "^stat,depth,kind,fwd_gain$" -- analyze --checkpoint "$TMP/ck" --hidden "$TMP/ckh.npy" --token-average metric --kinds prefix --metrics fwd_gain
expect 0 "^0,0,1,prefix," -- depth --generator checkpoint --input "$TMP/ck" --method dsv4 --kinds prefix --metrics fwd_gain
# propagate through the sites with their own static gates: layer 0's pre_1 is σ(base_0) + hc_eps from gates.csv
chk=$("$BIN" propagate --generator checkpoint --input "$TMP/ck" --method dsv4 --width 8 | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "pre_1") c = i } NR == 2 { print $c }')
[ -n "$chk" ] && [ "$chk" = "$(sed -n 2p "$TMP/gates.csv" | cut -d, -f4)" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: propagate --generator checkpoint: gates not the checkpoint's ($chk)"; }
# propagate --gate-mode dsv4: the dynamic DeepSeek-V4 block (gates and H recomputed from each state) through the
# checkpoint's fn/base/scale; 6 sites + the input row; its gates differ from the static ones of gates.csv
expect 0 "^seed,step,layer,energy" -- propagate --generator checkpoint --input "$TMP/ck" --method dsv4 --width 8 --gate-mode dsv4 --jacobian-topk 2
chk=$("$BIN" propagate --generator checkpoint --input "$TMP/ck" --method dsv4 --width 8 --gate-mode dsv4 | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "pre_1") c = i } NR > 1 { rows++ } NR == 2 { print rows "," $c }')
[ "${chk%%,*}" = "1" ] && [ -n "${chk#*,}" ] && [ "${chk#*,}" != "$(sed -n 2p "$TMP/gates.csv" | cut -d, -f4)" ] && [ "$("$BIN" propagate --generator checkpoint --input "$TMP/ck" --method dsv4 --width 8 --gate-mode dsv4 | wc -l)" = "8" ] \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: propagate --gate-mode dsv4 on a checkpoint: rows or gates ($chk)"; }
expect 2 "pass width 8" -- propagate --generator checkpoint --input "$TMP/ck" --method dsv4 --width 16 --gate-mode dsv4
expect 2 "does not name the fn and scale" -- propagate --generator checkpoint --input "$TMP/ck" --method dsv4 --width 8 --gate-mode dsv4 --family pattern --pattern 'layers.{layer}.hc_{site}_base' --sites attn,ffn
expect 0 "^seed,step,layer" -- propagate --method dsv4 --n 4 --layers 5 --width 4 --gate-mode dsv4 --dsv4-alpha 0.5
expect 2 "use method dsv4 \(got mhc\)" -- propagate --method mhc --n 4 --layers 5 --width 4 --gate-mode dsv4
expect 2 "dsv4-alpha is not finite" -- propagate --method dsv4 --n 4 --layers 5 --width 4 --gate-mode dsv4 --dsv4-alpha nan
expect 2 "token-average needs per-token gates" -- analyze --checkpoint "$TMP/ck" --token-average metric
expect 2 "use method dsv4 \(got mhc\)" -- analyze --checkpoint "$TMP/ck" --method mhc
expect 2 "layers\.1\.hc_ffn_base" -- analyze --checkpoint "$TMP/ckhole"
# the model's config.json is read: its values are reported, a mismatch with the analysis is flagged, a wrong hc_mult refused
echo '{"hc_mult": 4, "hc_sinkhorn_iters": 20, "hc_eps": 1e-6}' > "$TMP/ck/config.json"
expect 0 "hc_sinkhorn_iters = 20, hc_eps = 1e-06$" -- analyze --checkpoint "$TMP/ck" --kinds prefix --metrics fwd_gain
expect 0 "WARNING: the analysis differs from the model's config" -- analyze --checkpoint "$TMP/ck" --iters 10 --kinds prefix --metrics fwd_gain
echo '{"hc_mult": 8}' > "$TMP/ck/config.json"
expect 2 "hc_mult = 8 but the site tensors have n = 4" -- analyze --checkpoint "$TMP/ck"
rm "$TMP/ck/config.json"
expect 2 "no tensor matches 'decoder\.layers\.\{layer\}" -- analyze --checkpoint "$TMP/ck" --family megatron
expect 2 "does not exist" -- analyze --checkpoint "$TMP/nothere"
expect 2 "input and checkpoint are exclusive" -- analyze --checkpoint "$TMP/ck" --input "$TMP/h20.npy"
expect 2 "\(tokens, 6, 4, C\)" -- analyze --checkpoint "$TMP/ck" --hidden "$TMP/h20.npy" --token-average metric
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

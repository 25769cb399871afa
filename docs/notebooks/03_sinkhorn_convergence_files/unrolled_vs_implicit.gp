# unrolled_vs_implicit.gp: written by mhclab (plot 'unrolled_vs_implicit').
# Re-run in this directory with: gnuplot unrolled_vs_implicit.gp
# Data: unrolled_vs_implicit.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = t; filters (no where filters)
# Series:
#   index 0: case=N(0,1), τ=1; y=H_gap (8 points)
#   index 1: case=N(0,1), τ=1; y=dZ_gap (8 points)
#   index 2: case=N(0,3²), τ=1; y=H_gap (8 points)
#   index 3: case=N(0,3²), τ=1; y=dZ_gap (8 points)
#   index 4: case=N(0,1), τ=0.2; y=H_gap (8 points)
#   index 5: case=N(0,1), τ=0.2; y=dZ_gap (8 points)
#   index 6: case=N(0,1), τ=0.1; y=H_gap (8 points)
#   index 7: case=N(0,1), τ=0.1; y=dZ_gap (8 points)

data = 'unrolled_vs_implicit.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key tmargin center horizontal Left reverse noautotitle
set xlabel 't' noenhanced
set ylabel 'max-norm gap (dZ relative)' noenhanced
set logscale x
set format x '10^{%L}'
set logscale y
set format y '10^{%L}'

do for [fmt in formats] {
  if (fmt eq 'png') {
    set terminal pngcairo size 1120,840 enhanced font ',10' background rgb 'white'
  } else {
    if (fmt eq 'svg') {
      set terminal svg size 1120,840 dynamic enhanced font ',10' background rgb 'white'
    } else {
      set terminal pdfcairo size 9.33in,7.00in enhanced font ',10'
    }
  }
  set output 'unrolled_vs_implicit.'.fmt
  set multiplot layout 2,2 title 'Finite-t Sinkhorn vs the converged projection: forward and gradient gap' noenhanced font ',12'
  set title 'case=N(0,1), τ=1' noenhanced
  plot \
    data index 0 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' dt 1 title 'H_gap' noenhanced, \
    data index 1 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' dt 2 title 'dZ_gap' noenhanced
  set title 'case=N(0,3²), τ=1' noenhanced
  plot \
    data index 2 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' dt 1 title 'H_gap' noenhanced, \
    data index 3 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' dt 2 title 'dZ_gap' noenhanced
  set title 'case=N(0,1), τ=0.2' noenhanced
  plot \
    data index 4 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' dt 1 title 'H_gap' noenhanced, \
    data index 5 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' dt 2 title 'dZ_gap' noenhanced
  set title 'case=N(0,1), τ=0.1' noenhanced
  plot \
    data index 6 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' dt 1 title 'H_gap' noenhanced, \
    data index 7 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' dt 2 title 'dZ_gap' noenhanced
  unset multiplot
  set output
}

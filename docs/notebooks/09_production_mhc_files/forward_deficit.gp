# forward_deficit.gp: written by mhclab (plot 'forward_deficit').
# Re-run in this directory with: gnuplot forward_deficit.gp
# Data: forward_deficit.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = depth; filters (no where filters)
# Series:
#   index 0: series=dsv4: 1 - fwd gain; y=deficit (24 points)
#   index 1: series=1 - (1 - eps)^d; y=deficit (24 points)

data = 'forward_deficit.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key outside right top vertical Left reverse noautotitle title 'series' noenhanced
set xlabel 'depth d (sites, attention and FFN alternating)' noenhanced
set ylabel '1 - max_i |sum_j (M_d)_ij|' noenhanced
set logscale y
set format y '10^{%L}'
set title 'Forward-gain loss of the deployed chain (miniature DeepSeek-V4 checkpoint)' noenhanced

do for [fmt in formats] {
  if (fmt eq 'png') {
    set terminal pngcairo size 900,600 enhanced font ',10' background rgb 'white'
  } else {
    if (fmt eq 'svg') {
      set terminal svg size 900,600 dynamic enhanced font ',10' background rgb 'white'
    } else {
      set terminal pdfcairo size 7.50in,5.00in enhanced font ',10'
    }
  }
  set output 'forward_deficit.'.fmt
  plot \
    data index 0 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' title 'dsv4: 1 - fwd gain' noenhanced, \
    data index 1 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' title '1 - (1 - eps)^d' noenhanced
  set output
}

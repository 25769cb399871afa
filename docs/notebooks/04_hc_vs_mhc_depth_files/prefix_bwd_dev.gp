# prefix_bwd_dev.gp: written by mhclab (plot 'prefix_bwd_dev').
# Re-run in this directory with: gnuplot prefix_bwd_dev.gp
# Data: prefix_bwd_dev.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = depth; filters (where kind=prefix)
# Series:
#   index 0: method=hc; y=log10_bwd_dev (1000 points)
#   index 1: method=mhc; y=log10_bwd_dev (1000 points)
#   index 2: method=tbp; y=log10_bwd_dev (1000 points)

data = 'prefix_bwd_dev.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key outside right top vertical Left reverse noautotitle title 'method' noenhanced
set xlabel 'depth' noenhanced
set ylabel 'log10 |bwd_gain − 1| (floor 1e-17)' noenhanced
set title 'Distance of the prefix backward gain from 1' noenhanced

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
  set output 'prefix_bwd_dev.'.fmt
  plot \
    data index 0 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'hc' noenhanced, \
    data index 1 using 1:2 with lines lw 1.5 lc rgb '#ff7f0e' title 'mhc' noenhanced, \
    data index 2 using 1:2 with lines lw 1.5 lc rgb '#2ca02c' title 'tbp' noenhanced
  set output
}

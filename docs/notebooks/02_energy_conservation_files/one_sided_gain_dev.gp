# one_sided_gain_dev.gp: written by mhclab (plot 'one_sided_gain_dev').
# Re-run in this directory with: gnuplot one_sided_gain_dev.gp
# Data: one_sided_gain_dev.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = depth; filters (no where filters)
# Series:
#   index 0: stack=row-stochastic; y=log10_bwd_dev (200 points)
#   index 1: stack=column-stochastic; y=log10_bwd_dev (200 points)
#   index 2: stack=doubly stochastic (tbp); y=log10_bwd_dev (200 points)
#   index 3: stack=row-stochastic; y=log10_fwd_dev (200 points)
#   index 4: stack=column-stochastic; y=log10_fwd_dev (200 points)
#   index 5: stack=doubly stochastic (tbp); y=log10_fwd_dev (200 points)

data = 'one_sided_gain_dev.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key outside right top vertical Left reverse noautotitle title 'stack' noenhanced
set xlabel 'depth' noenhanced
set ylabel 'log10 |gain − 1| (floor 1e-17)' noenhanced
set title 'Distance of the gains from 1: log10 |gain − 1|' noenhanced

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
  set output 'one_sided_gain_dev.'.fmt
  plot \
    data index 0 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' dt 1 title 'row-stochastic: log10_bwd_dev' noenhanced, \
    data index 1 using 1:2 with lines lw 1.5 lc rgb '#ff7f0e' dt 1 title 'column-stochastic: log10_bwd_dev' noenhanced, \
    data index 2 using 1:2 with lines lw 1.5 lc rgb '#2ca02c' dt 1 title 'doubly stochastic (tbp): log10_bwd_dev' noenhanced, \
    data index 3 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' dt 2 title 'row-stochastic: log10_fwd_dev' noenhanced, \
    data index 4 using 1:2 with lines lw 1.5 lc rgb '#ff7f0e' dt 2 title 'column-stochastic: log10_fwd_dev' noenhanced, \
    data index 5 using 1:2 with lines lw 1.5 lc rgb '#2ca02c' dt 2 title 'doubly stochastic (tbp): log10_fwd_dev' noenhanced
  set output
}

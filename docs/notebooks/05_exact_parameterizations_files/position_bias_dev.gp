# position_bias_dev.gp: written by mhclab (plot 'position_bias_dev').
# Re-run in this directory with: gnuplot position_bias_dev.gp
# Data: position_bias_dev.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = column; filters (no where filters)
# Series:
#   index 0: method=mhc-lite; y=log10_dev (8 points)
#   index 1: method=kromhc; y=log10_dev (8 points)
#   index 2: method=tbp; y=log10_dev (8 points)
#   index 3: method=rtbp; y=log10_dev (8 points)

data = 'position_bias_dev.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key outside right top vertical Left reverse noautotitle title 'method' noenhanced
set xlabel 'column' noenhanced
set ylabel 'log10 |E[H_0j] − 1/n| (floor 1e-17)' noenhanced
set title 'Distance of the mean first row from 1/n, n = 8' noenhanced

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
  set output 'position_bias_dev.'.fmt
  plot \
    data index 0 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' title 'mhc-lite' noenhanced, \
    data index 1 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' title 'kromhc' noenhanced, \
    data index 2 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#2ca02c' title 'tbp' noenhanced, \
    data index 3 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#d62728' title 'rtbp' noenhanced
  set output
}

# moved.gp: written by mhclab (plot 'moved').
# Re-run in this directory with: gnuplot moved.gp
# Data: moved.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = layer; filters (no where filters)
# Series:
#   index 0: lr=0.01; method=hc; y=log10_dist (24 points)
#   index 1: lr=0.01; method=mhc; y=log10_dist (24 points)
#   index 2: lr=0.01; method=mhc-lite; y=log10_dist (24 points)
#   index 3: lr=0.01; method=kromhc; y=log10_dist (24 points)
#   index 4: lr=0.01; method=tbp; y=log10_dist (24 points)
#   index 5: lr=0.01; method=rtbp; y=log10_dist (24 points)
#   index 6: lr=0.3; method=hc; y=log10_dist (24 points)
#   index 7: lr=0.3; method=mhc; y=log10_dist (24 points)
#   index 8: lr=0.3; method=mhc-lite; y=log10_dist (24 points)
#   index 9: lr=0.3; method=kromhc; y=log10_dist (24 points)
#   index 10: lr=0.3; method=tbp; y=log10_dist (24 points)
#   index 11: lr=0.3; method=rtbp; y=log10_dist (24 points)

data = 'moved.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key tmargin center horizontal Left reverse noautotitle title 'method' noenhanced
set xlabel 'layer' noenhanced
set ylabel 'log10 max(‖H_l(final) − H_l(0)‖_F, 1e-17)' noenhanced

do for [fmt in formats] {
  if (fmt eq 'png') {
    set terminal pngcairo size 1120,440 enhanced font ',10' background rgb 'white'
  } else {
    if (fmt eq 'svg') {
      set terminal svg size 1120,440 dynamic enhanced font ',10' background rgb 'white'
    } else {
      set terminal pdfcairo size 9.33in,3.67in enhanced font ',10'
    }
  }
  set output 'moved.'.fmt
  set multiplot layout 1,2 title 'How far training moved each H_l' noenhanced font ',12'
  set title 'lr=0.01' noenhanced
  plot \
    data index 0 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' title 'hc' noenhanced, \
    data index 1 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' title 'mhc' noenhanced, \
    data index 2 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#2ca02c' title 'mhc-lite' noenhanced, \
    data index 3 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#d62728' title 'kromhc' noenhanced, \
    data index 4 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#9467bd' title 'tbp' noenhanced, \
    data index 5 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#8c564b' title 'rtbp' noenhanced
  set title 'lr=0.3' noenhanced
  plot \
    data index 6 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#1f77b4' title 'hc' noenhanced, \
    data index 7 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#ff7f0e' title 'mhc' noenhanced, \
    data index 8 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#2ca02c' title 'mhc-lite' noenhanced, \
    data index 9 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#d62728' title 'kromhc' noenhanced, \
    data index 10 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#9467bd' title 'tbp' noenhanced, \
    data index 11 using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc rgb '#8c564b' title 'rtbp' noenhanced
  unset multiplot
  set output
}

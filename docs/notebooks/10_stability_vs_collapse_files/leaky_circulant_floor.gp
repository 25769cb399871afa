# leaky_circulant_floor.gp: written by mhclab (plot 'leaky_circulant_floor').
# Re-run in this directory with: gnuplot leaky_circulant_floor.gp
# Data: leaky_circulant_floor.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = depth; filters (no where filters)
# Series:
#   index 0: beta=1; curve=measured (seed 0); y=sigma_min (262 points)
#   index 1: beta=1; curve=bound (1-beta/L)^l; y=sigma_min (262 points)
#   index 2: beta=2; curve=measured (seed 0); y=sigma_min (262 points)
#   index 3: beta=2; curve=bound (1-beta/L)^l; y=sigma_min (262 points)
#   index 4: beta=4; curve=measured (seed 0); y=sigma_min (262 points)
#   index 5: beta=4; curve=bound (1-beta/L)^l; y=sigma_min (262 points)

data = 'leaky_circulant_floor.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key tmargin center horizontal Left reverse noautotitle title 'curve' noenhanced
set xlabel 'depth' noenhanced
set ylabel 'sigma_min(H_l ... H_1)' noenhanced

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
  set output 'leaky_circulant_floor.'.fmt
  set multiplot layout 2,2 title 'Leaky circulant: sigma_min of the prefix product, gamma = beta/(2L), L = 1024' noenhanced font ',12'
  set title 'beta=1' noenhanced
  plot \
    data index 0 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'measured (seed 0)' noenhanced, \
    data index 1 using 1:2 with lines lw 1.5 lc rgb '#ff7f0e' title 'bound (1-beta/L)^l' noenhanced
  set title 'beta=2' noenhanced
  plot \
    data index 2 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'measured (seed 0)' noenhanced, \
    data index 3 using 1:2 with lines lw 1.5 lc rgb '#ff7f0e' title 'bound (1-beta/L)^l' noenhanced
  set title 'beta=4' noenhanced
  plot \
    data index 4 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'measured (seed 0)' noenhanced, \
    data index 5 using 1:2 with lines lw 1.5 lc rgb '#ff7f0e' title 'bound (1-beta/L)^l' noenhanced
  unset multiplot
  set output
}

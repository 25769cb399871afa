# frontier.gp: written by mhclab (plot 'frontier').
# Re-run in this directory with: gnuplot frontier.gp
# Data: frontier.dat, one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).
# Table: plain; x = log10_fwd_gain_abs; filters (where depth=10000)
# Series:
#   index 0: method=resnet; y=log10_sigma_min (4 points)
#   index 1: method=hc; y=log10_sigma_min (4 points)
#   index 2: method=mhc; y=log10_sigma_min (4 points)
#   index 3: method=mhc-lite; y=log10_sigma_min (4 points)
#   index 4: method=kromhc; y=log10_sigma_min (4 points)
#   index 5: method=tbp; y=log10_sigma_min (4 points)
#   index 6: method=rtbp; y=log10_sigma_min (4 points)
#   index 7: method=go-mhc; y=log10_sigma_min (4 points)
#   index 8: method=circulant; y=log10_sigma_min (4 points)
#   index 9: method=cayley; y=log10_sigma_min (4 points)
#   index 10: method=shc; y=log10_sigma_min (4 points)
#   index 11: method=isohc; y=log10_sigma_min (4 points)
#   index 12: method=circulant γ=0.0001; y=log10_sigma_min (4 points)

data = 'frontier.dat'
formats = 'png'  # any of: png svg pdf

set grid
set tics out nomirror
set border 3
set key outside right top vertical Left reverse noautotitle title 'method' noenhanced
set xlabel 'log10 ||M_L||_inf (0 = no amplification)' noenhanced
set ylabel 'log10 sigma_min(M_L) (about -15 = floor)' noenhanced
set title 'Stability vs collapse at depth L = 10000 (n = 4, authors init, drift eta = 0.1)' noenhanced

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
  set output 'frontier.'.fmt
  plot \
    data index 0 using 1:2 with points pt 1 ps 1.1 lw 1.5 lc rgb '#d93636' title 'resnet' noenhanced, \
    data index 1 using 1:2 with points pt 2 ps 1.1 lw 1.5 lc rgb '#d98136' title 'hc' noenhanced, \
    data index 2 using 1:2 with points pt 3 ps 1.1 lw 1.5 lc rgb '#d9cc36' title 'mhc' noenhanced, \
    data index 3 using 1:2 with points pt 4 ps 1.1 lw 1.5 lc rgb '#9ad936' title 'mhc-lite' noenhanced, \
    data index 4 using 1:2 with points pt 5 ps 1.1 lw 1.5 lc rgb '#4fd936' title 'kromhc' noenhanced, \
    data index 5 using 1:2 with points pt 6 ps 1.1 lw 1.5 lc rgb '#36d968' title 'tbp' noenhanced, \
    data index 6 using 1:2 with points pt 7 ps 1.1 lw 1.5 lc rgb '#36d9b3' title 'rtbp' noenhanced, \
    data index 7 using 1:2 with points pt 8 ps 1.1 lw 1.5 lc rgb '#36b3d9' title 'go-mhc' noenhanced, \
    data index 8 using 1:2 with points pt 9 ps 1.1 lw 1.5 lc rgb '#3668d9' title 'circulant' noenhanced, \
    data index 9 using 1:2 with points pt 10 ps 1.1 lw 1.5 lc rgb '#4f36d9' title 'cayley' noenhanced, \
    data index 10 using 1:2 with points pt 11 ps 1.1 lw 1.5 lc rgb '#9a36d9' title 'shc' noenhanced, \
    data index 11 using 1:2 with points pt 12 ps 1.1 lw 1.5 lc rgb '#d936cc' title 'isohc' noenhanced, \
    data index 12 using 1:2 with points pt 13 ps 1.1 lw 1.5 lc rgb '#d93681' title 'circulant γ=0.0001' noenhanced
  set output
}

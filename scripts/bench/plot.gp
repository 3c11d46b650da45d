# gnuplot -e "dir='BENCH_DIR'; subtitle='...'" scripts/bench/plot.gp
# Reads dir/iops.dat and dir/cpu.dat (from plotdata.awk), writes dir/bench.png:
# grouped bars, one group per fio workload, one bar per engine; log scales.
set terminal pngcairo size 2800,1000 font "sans,11" noenhanced
set output dir . "/bench.png"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border rgb "#404040"
set boxwidth 0.95
set key outside right top vertical width 2
set grid ytics mytics lc rgb "#d0d0d0"
set logscale y
set xtics rotate by 20 right nomirror
set lmargin 12
set rmargin 32
set ytics nomirror
set linetype 1 lc rgb "#d62728"
set linetype 2 lc rgb "#1f77b4"
set linetype 3 lc rgb "#9ecae1"
set linetype 4 lc rgb "#2ca02c"
set linetype 5 lc rgb "#ff7f0e"
set linetype 6 lc rgb "#7f7f7f"
set linetype 7 lc rgb "#9467bd"
if (!exists("ncol")) ncol = 7
set multiplot layout 2,1 title "fio 4 KiB random I/O, medians: POSIX AIO under glibc and under kaio (default, KAIO_URING=0), fio's libaio, io_uring and psync engines\n" . subtitle
set ylabel "IOPS (log scale, higher is better)"
set format y "%.0s%c"
set yrange [1000:*]
plot for [i=2:ncol] dir . "/iops.dat" using i:xtic(1) title columnheader(i)
unset key
set ylabel "CPU per I/O, µs, whole process (log scale, lower is better)"
set format y "%g"
set yrange [*:*]
plot for [i=2:ncol] dir . "/cpu.dat" using i:xtic(1) title columnheader(i)
unset multiplot

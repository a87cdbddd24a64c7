# The dashboards of bench/scenario (gnuplot 5; run by bench/scenario.py):
#
#   gnuplot -c bench/scenario.gp INDEX_TSV BASELINE_TSV INDEX_WINDOWS BASELINE_WINDOWS
#           OUT_DIR TITLE BASELINE_NAME "PHASE_START_SECONDS..." "FLAGS"
#
# The TSVs are the per-second tables of report (a header line, NaN where
# a second had no request of a kind); the windows are (t, sessions, p99,
# requests) per 5-second window. FLAGS: "ingest" adds the ingest's events
# per second, "log" draws sessions and reads per second on a log scale (for
# exponential ramps). (gnuplot -c passes nine arguments at most.) Writes OUT_DIR/dashboard.png (sessions,
# reads and writes per second, latency of all reads), latency.png
# (p50/p99/p99.9 by request kind) and saturation.png (p99 against
# sessions). The index is drawn solid, the baseline dashed, on the same axes.
ix = ARG1
bl = ARG2
wix = ARG3
wbl = ARG4
out = ARG5
title = ARG6
base = ARG7
marks = ARG8
ingest = strstrt(ARG9, "ingest") > 0
logscale = strstrt(ARG9, "log") > 0

set datafile separator "\t"
set datafile columnheaders
set datafile missing "NaN"
set grid ytics xtics lc rgb "#dddddd"
set key top left horizontal font ",9" samplen 3
set border 3
set tics nomirror
set style line 1 lc rgb "#1f5fa8" lw 2            # index
set style line 2 lc rgb "#e07800" lw 2 dt 2       # baseline
do for [m in marks] {
    set arrow from m, graph 0 to m, graph 1 nohead lc rgb "#aaaaaa" dt 3
}
kinds = "timeline next_page author_feed profile"
kc(i) = word("#1f77b4 #2ca02c #9467bd #8c564b", i)

# ------------------------------------------------------------- dashboard
set terminal pngcairo size 1200,1500 font "DejaVu Sans,10" noenhanced
set output out . "/dashboard.png"
set multiplot layout 4,1 title title . ": the index (solid) against the " . base . " SQL (dashed)" font ",13"
set lmargin 12
set rmargin 10

# On a log scale, a second with no request is left out rather than drawn at 0.
pos(x) = (logscale && x <= 0) ? NaN : x
if (logscale) { set logscale y; set yrange [1:*] } else { set yrange [0:*] }
set title "active reader sessions" . (logscale ? " (log scale)" : "")
set ylabel "sessions"
plot ix using "t":(pos(column("sessions"))) with lines ls 1 title "index", \
     bl using "t":(pos(column("sessions"))) with lines ls 2 title base

set title "reads answered per second, by kind" . (logscale ? " (log scale)" : "") . "; red: requests that timed out"
set ylabel "requests / s"
plot ix using "t":(pos(column("reads"))) with lines lc rgb "#333333" lw 2 title "all (index)", \
     bl using "t":(pos(column("reads"))) with lines lc rgb "#333333" lw 2 dt 2 title "all (" . base . ")", \
     for [i=1:4] ix using "t":(pos(column(word(kinds, i)))) with lines lc rgb kc(i) lw 1.5 title word(kinds, i), \
     for [i=1:4] bl using "t":(pos(column(word(kinds, i)))) with lines lc rgb kc(i) lw 1.5 dt 2 notitle, \
     ix using "t":(pos(column("timeouts"))) with lines lc rgb "#c0392b" lw 1.5 notitle, \
     bl using "t":(pos(column("timeouts"))) with lines lc rgb "#c0392b" lw 1.5 dt 2 notitle
unset logscale y
set yrange [0:*]

set title ingest ? "writes per second (SQL writes, left; Jetstream events ingested, right)" : "writes per second"
set ylabel "writes / s"
if (ingest) {
    set y2label "events / s"
    set y2tics
    set y2range [0:*]
    plot ix using "t":"writes" with lines ls 1 title "writes (index)", \
         bl using "t":"writes" with lines ls 2 title "writes (" . base . ")", \
         ix using "t":"ingest_events" axes x1y2 with lines lc rgb "#2a9d3f" lw 2 title "ingest (index)", \
         bl using "t":"ingest_events" axes x1y2 with lines lc rgb "#2a9d3f" lw 2 dt 2 title "ingest (" . base . ")"
    unset y2label
    unset y2tics
} else {
    plot ix using "t":"writes" with lines ls 1 title "index", \
         bl using "t":"writes" with lines ls 2 title base
}

set title "latency of all reads (ms, log scale): p50, p99, p99.9"
set ylabel "ms"
set xlabel "seconds"
set logscale y
set yrange [*:*]
plot 100 with lines lc rgb "#c0392b" dt 4 title "100 ms", \
     ix using "t":"reads_p50" with lines lc rgb "#9cc3ef" lw 1.5 title "p50 (index)", \
     ix using "t":"reads_p99" with lines lc rgb "#3b8ad9" lw 1.5 title "p99", \
     ix using "t":"reads_p999" with lines lc rgb "#143f73" lw 1.5 title "p99.9", \
     bl using "t":"reads_p50" with lines lc rgb "#f5c77e" lw 1.5 dt 2 title "p50 (" . base . ")", \
     bl using "t":"reads_p99" with lines lc rgb "#e07800" lw 1.5 dt 2 title "p99", \
     bl using "t":"reads_p999" with lines lc rgb "#8a3b00" lw 1.5 dt 2 title "p99.9"
unset multiplot
unset logscale y
unset xlabel

# --------------------------------------------------------------- latency
set terminal pngcairo size 1200,1300 font "DejaVu Sans,10" noenhanced
set output out . "/latency.png"
set multiplot layout 4,1 title title . ": latency by request kind (ms, log scale), the index (solid) against the " . base . " SQL (dashed)" font ",13"
set logscale y
set ylabel "ms"
do for [i=1:4] {
    k = word(kinds, i)
    set title k
    if (i == 4) { set xlabel "seconds" }
    plot 100 with lines lc rgb "#c0392b" dt 4 title "100 ms", \
         ix using "t":(column(k . "_p50")) with lines lc rgb "#9cc3ef" lw 1.5 title "p50 (index)", \
         ix using "t":(column(k . "_p99")) with lines lc rgb "#3b8ad9" lw 1.5 title "p99", \
         ix using "t":(column(k . "_p999")) with lines lc rgb "#143f73" lw 1.5 title "p99.9", \
         bl using "t":(column(k . "_p50")) with lines lc rgb "#f5c77e" lw 1.5 dt 2 title "p50 (" . base . ")", \
         bl using "t":(column(k . "_p99")) with lines lc rgb "#e07800" lw 1.5 dt 2 title "p99", \
         bl using "t":(column(k . "_p999")) with lines lc rgb "#8a3b00" lw 1.5 dt 2 title "p99.9"
}
unset multiplot
unset xlabel

# ------------------------------------------------------------ saturation
set terminal pngcairo size 1000,650 font "DejaVu Sans,10" noenhanced
set output out . "/saturation.png"
unset arrow
set title title . ": p99 of all reads against active sessions (5-second windows)" font ",13"
set logscale xy
set xlabel "active sessions"
set ylabel "p99 (ms)"
set key top left vertical
plot 100 with lines lc rgb "#c0392b" dt 4 title "100 ms", \
     wix using "sessions":"p99" with linespoints ls 1 pt 7 ps 0.6 title "index", \
     wbl using "sessions":"p99" with linespoints ls 2 pt 5 ps 0.6 title base

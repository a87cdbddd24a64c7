# Plots of a bench/run results table (gnuplot, PNG). Sourced by bench/run.
#
# plot_results TSV PREFIX TITLE
#   TSV: name <tab> tps <tab> p50 <tab> p99 <tab> p99.9 (µs), as bench/lib.sh
#   writes it. Writes PREFIX-throughput.png (TPS per workload, log scale)
#   and PREFIX-latency.png (p50/p99/p99.9 per workload, log scale).
plot_results() {
    local tsv="$1" prefix="$2" title="$3"
    command -v gnuplot >/dev/null || { echo "   (gnuplot missing: no plots)"; return 0; }
    local data="$prefix.dat"
    # Rows with numbers only; underscores would be subscripts in gnuplot.
    awk -F'\t' '$2 ~ /^[0-9.]+$/ {
        n = $1; gsub(/_/, " ", n);
        p50 = ($3 ~ /^[0-9.]+$/) ? $3 : "NaN"; p99 = ($4 ~ /^[0-9.]+$/) ? $4 : "NaN";
        p999 = ($5 ~ /^[0-9.]+$/) ? $5 : "NaN";
        # Colour by kind: the index, a baseline without it, a ceiling.
        kind = ($1 ~ /^(ceiling|celeb_ceiling)/) ? 2 : ($1 ~ /(_sql|_no_triggers)$/) ? 1 : 0;
        printf "\"%s\"\t%s\t%s\t%s\t%s\t%d\n", n, $2, p50, p99, p999, kind }' "$tsv" > "$data"
    local rows
    rows=$(wc -l < "$data")
    local height=$((200 + rows * 22))
    gnuplot <<GP
set terminal pngcairo size 1100,$height font "DejaVu Sans,10"
set datafile separator "\t"
set style fill solid 0.8 border -1
set grid xtics
set logscale x
set ytics nomirror
set yrange [-0.5:$rows - 0.5]
set offsets 0, 0, 0, 0
set key off

set output "$prefix-throughput.png"
set title "$title: throughput (TPS, log scale; higher is better)\nblue: dataplane index    orange: SQL baseline without it    grey: wire-protocol ceiling"
set xlabel "transactions per second"
set palette defined (0 "#3b6ea8", 1 "#e08a00", 2 "#9a9a9a")
set cbrange [0:2]
unset colorbox
plot "$data" using (\$2 / 2):0:(\$2 / 2):(0.35):6:yticlabels(1) with boxxyerror lc palette, \
     "$data" using 2:0:(sprintf(" %.0f", \$2)) with labels left offset 0.3,0 font ",8"

set output "$prefix-latency.png"
set title "$title: latency percentiles (µs, log scale; lower is better)"
set xlabel "microseconds"
set key outside right top
plot "$data" using 3:(\$0 - 0.25):yticlabels(1) with points pt 7 ps 0.9 lc rgb "#2a9d3f" title "p50", \
     "$data" using 4:0 with points pt 5 ps 0.9 lc rgb "#e08a00" title "p99", \
     "$data" using 5:(\$0 + 0.25) with points pt 9 ps 1.1 lc rgb "#c0392b" title "p99.9"
GP
    rm -f "$data"
}

#!/usr/bin/env bash
# bench/scale.sh - the filter's stages on generated datasets of growing size: wall time,
# CPU time and peak memory of each stage, to show which stages stay flat in memory as the
# number of rows grows and how the whole-matrix ones grow.
#
# Usage: bench/scale.sh [N...]        (default: 10000 50000; from anywhere, after make build)
#
# For each N: bin/synth -n N --seed 1 (256x256 PNGs, ~82 KB each: 4 GB at 50,000) into
# $SCALE_DIR/dsN (default /tmp/facepipe-scale; a dataset already there is reused), then
#   decode --size 64 --labels        images -> N x 64x64x3 u8            per row
#   extract-features                 -> N x 824 f32                      per row
#   pca --standardize 30 --save      fit (exact or randomized SVD)       whole matrix
#   pca --load                       projection with the saved model     per row
#   tsne                             Barnes-Hut, perplexity 30           whole matrix
#   kmeans --elbow 1..15             10 restarts per k                   whole matrix
#   kmeans K                         the final clustering, K from the    whole matrix
#                                    elbow (pipelines/elbow.awk), as make filter does
# each a process of its own, reading and writing files, under /usr/bin/time -v: peak RSS
# (maximum resident set size), wall and CPU (user + system, every thread) seconds.
# Everything runs under nice; the load average is printed with the results, as the machine
# may be shared. Results: $SCALE_DIR/scale.csv (n,stage,wall_s,cpu_s,peak_rss_kib,out_bytes)
# and a Markdown table on stdout. Remove $SCALE_DIR afterwards (its datasets are large).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/bin
SCALE_DIR=${SCALE_DIR:-/tmp/facepipe-scale}
case ${1:-} in -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 50000)
for n in "${SIZES[@]}"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "usage: bench/scale.sh [N...]" >&2; exit 2; }
done
for s in synth decode extract-features pca tsne kmeans; do
    [ -x "$BIN/$s" ] || { echo "scale.sh: $BIN/$s missing: run make build" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "scale.sh: /usr/bin/time missing (Debian package: time)" >&2; exit 1; }
mkdir -p "$SCALE_DIR"
CSV=$SCALE_DIR/scale.csv
echo "n,stage,wall_s,cpu_s,peak_rss_kib,out_bytes" > "$CSV"
export FP_QUIET=1

# run N STAGE OUT -- COMMAND...: COMMAND under nice and /usr/bin/time -v, stdout to OUT;
# appends a line to the CSV and prints it.
run() {
    local n=$1 stage=$2 out=$3
    shift 4
    local tv=$SCALE_DIR/time.txt
    if ! /usr/bin/time -v -o "$tv" nice "$@" > "$out"; then
        echo "scale.sh: $stage failed at N=$n" >&2
        exit 1
    fi
    local wall cpu rss
    # "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34"
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0
              for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.2f", s }' "$tv")
    cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$tv")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
    local bytes
    bytes=$(stat -c %s "$out")
    echo "$n,$stage,$wall,$cpu,$rss,$bytes" >> "$CSV"
    printf '%6d  %-22s wall %8.2f s  cpu %8.2f s  peak RSS %9.1f MiB  output %8.1f MiB\n' \
        "$n" "$stage" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$(echo "$bytes / 1048576" | bc -l)"
}

echo "scale benchmark: N = ${SIZES[*]}; $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
     "load $(cut -d' ' -f1-3 /proc/loadavg) at start ($(date -u '+%Y-%m-%d %H:%M UTC'))"
for n in "${SIZES[@]}"; do
    ds=$SCALE_DIR/ds$n w=$SCALE_DIR/work$n
    mkdir -p "$w"
    if [ ! -f "$ds/attribute_list.csv" ] || [ "$(($(wc -l < "$ds/attribute_list.csv") - 1))" -ne "$n" ]; then
        echo "generating $n images in $ds ..."
        run "$n" "synth (data)" "$w/synth.out" -- "$BIN/synth" -q -n "$n" --seed 1 --force "$ds"
    fi
    run "$n" decode "$w/images.npy" -- "$BIN/decode" --skip-bad --size 64 --labels "$ds/attribute_list.csv" "$ds/images"
    run "$n" extract-features "$w/features.npy" -- "$BIN/extract-features" "$w/images.npy"
    run "$n" "pca fit" "$w/pca.npy" -- "$BIN/pca" --standardize --seed 1 --save "$w/pca-model.npy" 30 "$w/features.npy"
    run "$n" "pca --load" "$w/pca-load.npy" -- "$BIN/pca" --load "$w/pca-model.npy" "$w/features.npy"
    cmp -s "$w/pca.npy" "$w/pca-load.npy" || echo "scale.sh: note: pca --load differs from the fit's projection" >&2
    run "$n" tsne "$w/tsne.npy" -- "$BIN/tsne" --seed 1 --perplexity 30 "$w/pca.npy"
    run "$n" "kmeans --elbow 1..15" "$w/elbow.csv" -- "$BIN/kmeans" -q --elbow 1..15 --seed 1 "$w/tsne.npy"
    k=$(awk -f "$ROOT/pipelines/elbow.awk" "$w/elbow.csv")
    echo "$n: the elbow is at k = $k"
    run "$n" "kmeans K (elbow's k)" "$w/clusters.npy" -- "$BIN/kmeans" -q --seed 1 "$k" "$w/tsne.npy"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"

# The Markdown table: one row per stage, wall / CPU / peak RSS for each N, and the ratio of
# the peak RSS at the largest N to the smallest.
echo
awk -F, -v sizes="${SIZES[*]}" '
    NR == 1 { next }
    { key = $2 SUBSEP $1; wall[key] = $3; cpu[key] = $4; rss[key] = $5
      if (!($2 in seen)) { seen[$2] = 1; order[++ns] = $2 } }
    END {
        m = split(sizes, N, " ")
        printf "| stage |"; for (i = 1; i <= m; i++) printf " N = %d: wall / CPU / peak RSS |", N[i]
        printf " RSS ratio |\n|---|"; for (i = 1; i <= m; i++) printf "---|"; printf "---|\n"
        for (s = 1; s <= ns; s++) {
            st = order[s]; printf "| %s |", st
            for (i = 1; i <= m; i++) {
                k = st SUBSEP N[i]
                if (k in wall) printf " %.1f s / %.1f s / %.0f MiB |", wall[k], cpu[k], rss[k] / 1024
                else printf " - |"
            }
            a = st SUBSEP N[1]; b = st SUBSEP N[m]
            if (m > 1 && (a in rss) && (b in rss)) printf " %.2f |\n", rss[b] / rss[a]; else printf " - |\n"
        }
    }' "$CSV"

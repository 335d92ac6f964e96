#!/usr/bin/env bash
# bench/pca.sh - pca vs scikit-learn's PCA (Debian's python3-sklearn, /usr/bin/python3), both
# sides timed the same way, in one run, rounds alternating between them.
#
# Usage: bench/pca.sh [ROWS] [COLS] [K]          (from anywhere, after make build)
#   ROWS x COLS float32 -> K (default 5000 x 2048 -> 30, issue 4's shape): a rank-100 signal
#   with a decaying spectrum plus noise, like CNN features (tests/tools/gen-blobs).
#   Then `pca --standardize 30` (StandardScaler + PCA for sklearn), the filter pipeline's step,
#   on FEATURES=path (e.g. build/filter/<data>/size64-seed1/features.npy, 2500 x 824 on the
#   AMLS images) or, without it, on a generated 2500 x 824 matrix with a flat spectrum.
#   ROUNDS=5 rounds; every figure is the minimum over them (the machine may be shared).
#
# Timed for both sides:
#   process  the whole command from a cold start: start, read the .npy, fit, project every
#            row, write the scores (for sklearn: interpreter start and imports too, then
#            np.load, fit_transform, np.save)
#   fit      inside that same process: fitting and projecting all rows, the first call (ours:
#            pca's "fit and projection" line; sklearn: its first fit_transform after np.load)
#   warm     sklearn only: best of 3 fit_transform calls in one process (buffers, OpenBLAS
#            threads and page tables already warm; our process never gets that)
# CPU is user + system of all threads. ratio = sklearn / ours (above 1: ours is faster).
# Accuracy: explained variances of both against an exact float64 reference, for seeds 1..SEEDS
# (default 4; both solvers are randomized): the mean shortfall of the summed variance of the
# K components, and the mean of the largest relative error of one component.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
SK="$ROOT/bench/sk_pca.py"
ROUNDS=${ROUNDS:-5}
SEEDS=${SEEDS:-4}
N=${1:-5000} D=${2:-2048} K=${3:-30}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# run_timed OUTVAR_WALL OUTVAR_CPU -- command...   (stdout to $TMP/out, stderr to $TMP/err)
run_timed() {
    local __w=$1 __c=$2 _w _u _s
    shift 3
    /usr/bin/time -o "$TMP/time" -f '%e %U %S' "$@" > "$TMP/out" 2> "$TMP/err"
    read -r _w _u _s < "$TMP/time"
    printf -v "$__w" "%s" "$_w"
    printf -v "$__c" "%s" "$(awk -v u="$_u" -v s="$_s" 'BEGIN { printf "%.2f", u + s }')"
}

# bench_case TITLE FILE K [--standardize]
bench_case() {
    local title=$1 x=$2 k=$3 opt=${4:-}
    local opts=() pw= pc= fw= fc= sw= sc= sfw= sfc= w c r
    [ -n "$opt" ] && opts=("$opt")
    for ((r = 0; r < ROUNDS; r++)); do
        run_timed w c -- "$ROOT/bin/pca" "$k" "${opts[@]}" "$x"
        pw=$(min "$pw" "$w") pc=$(min "$pc" "$c")
        w=$(sed -n 's/.*fit and projection in \([0-9.]*\) s (\([0-9.]*\) s CPU).*/\1/p' "$TMP/err")
        c=$(sed -n 's/.*fit and projection in \([0-9.]*\) s (\([0-9.]*\) s CPU).*/\2/p' "$TMP/err")
        fw=$(min "$fw" "$w") fc=$(min "$fc" "$c")
        run_timed w c -- "$PY" "$SK" run "$x" "$k" "$TMP/sk.npy" "${opts[@]}"
        sw=$(min "$sw" "$w") sc=$(min "$sc" "$c")
        sfw=$(min "$sfw" "$(sed -n 's/^fit_seconds=//p' "$TMP/out")")
        sfc=$(min "$sfc" "$(sed -n 's/^fit_cpu_seconds=//p' "$TMP/out")")
    done
    for ((r = 1; r <= SEEDS; r++)); do
        "$ROOT/bin/pca" "$k" "${opts[@]}" -q -s "$r" --report "$TMP/ours$r.csv" "$x" > /dev/null
    done
    "$PY" "$SK" compare "$x" "$k" "$TMP/ours%d.csv" "${opts[@]}" --seeds "$SEEDS" > "$TMP/cmp.txt"
    local warm warmc
    warm=$(sed -n 's/^sklearn_warm_seconds=//p' "$TMP/cmp.txt")
    warmc=$(sed -n 's/^sklearn_warm_cpu_seconds=//p' "$TMP/cmp.txt")
    echo "== $title (load $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores, best of $ROUNDS)"
    printf '%-22s %9s %9s %12s %12s %10s %10s\n' "" "ours wall" "ours CPU" "sklearn wall" \
        "sklearn CPU" "ratio wall" "ratio CPU"
    printf '%-22s %9s %9s %12s %12s %10s %10s\n' "process (cold)" "$pw" "$pc" "$sw" "$sc" \
        "$(ratio "$sw" "$pw")" "$(ratio "$sc" "$pc")"
    printf '%-22s %9s %9s %12s %12s %10s %10s\n' "fit+projection (cold)" "$fw" "$fc" "$sfw" \
        "$sfc" "$(ratio "$sfw" "$fw")" "$(ratio "$sfc" "$fc")"
    printf '%-22s %9s %9s %12s %12s %10s %10s\n' "sklearn warm, best of 3" "" "" "$warm" \
        "$warmc" "$(ratio "$warm" "$fw")" "$(ratio "$warmc" "$fc")"
    grep -v '_warm_' "$TMP/cmp.txt"
    echo
}

"$ROOT/build/tools/gen-blobs" --lowrank 100 --rows "$N" --dims "$D" --decay 0.95 --noise 0.5 \
    --type f32 -o "$TMP/x.npy"
bench_case "$N x $D f32 -> $K components" "$TMP/x.npy" "$K"

if [ -n "${FEATURES:-}" ]; then
    feats=$FEATURES
else
    feats="$TMP/feats.npy"
    "$ROOT/build/tools/gen-blobs" --lowrank 400 --rows 2500 --dims 824 --decay 0.99 \
        --noise 0.3 --type f32 -o "$feats"
fi
bench_case "--standardize 30 on $(basename "$feats") ($("$ROOT/bin/mat" info "$feats" |
    sed 's/^[^:]*: //; s/ (id.*//'))" "$feats" 30 --standardize

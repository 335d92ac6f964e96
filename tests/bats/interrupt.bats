#!/usr/bin/env bats
# Interrupted runs: `make filter` and one task's training (svm, cnn) are killed with SIGKILL
# (the whole process group: make, its shells and the stage running) at several points, then
# rerun. After every kill, each file present under its final name must already be the
# finished one (byte-identical to an uninterrupted run's); after the last rerun every
# artifact must be byte-identical to the uninterrupted run's and no temporary may remain.

load helpers

# Files that hold timings (wall or CPU seconds, img/s) are not compared: the stages' logs,
# the tasks' time files, run.csv and train-svm's search log (cpu_seconds per C).
TIMED='[^/]*\.log|[^/]*\.time|run\.csv|search\.csv'
TASK_ARGS=(task=human CNN_SIZE=32 CNN_EPOCHS=3 SVM_ITER=4)

setup_file() {
    export DS="$BATS_FILE_TMPDIR/ds" B="$BATS_FILE_TMPDIR"
    synth -q -n 400 --seed 3 "$DS"
    # The reference is built under the same FILTER_ROOT path as the runs it is compared with
    # (reports name their input files), then moved aside.
    run_make filter > "$B/ref.log" 2>&1 || { cat "$B/ref.log" >&3; false; }
    mv "$B/fr" "$B/ref"
}

setup() { cd "$BATS_TEST_TMPDIR"; }

run_make() { # MAKE_ARGS... (not quiet: train-cnn's epoch lines mark kill points)
    env -u FP_QUIET make -s -C "$ROOT" DATA="$DS" FILTER_ROOT="$B/fr" "$@"
}

# kill_when COND MAKE_ARGS...: start make in a process group of its own and, as soon as the
# shell test COND holds, kill -9 the whole group (make, its shells, the stage running).
# Returns 0 when it killed, 1 when make ended first.
kill_when() {
    local cond=$1; shift
    kill_group_when "$cond" env -u FP_QUIET make -s -C "$ROOT" DATA="$DS" FILTER_ROOT="$B/fr" "$@"
}

# kill_group_when COND COMMAND...: the same for any command. Waits until no process of the
# group is left, so that nothing writes after.
kill_group_when() {
    local cond=$1; shift
    rm -f rc
    setsid bash -c '"$@" > cmd.log 2>&1; echo $? > rc' bash "$@" &
    local pid=$! killed=1
    disown "$pid"                       # (no "Killed" job notice)
    while [ ! -e rc ]; do
        if eval "$cond" > /dev/null 2>&1; then kill -9 -- "-$pid" 2> /dev/null && killed=0; break; fi
        nap
    done
    while kill -0 -- "-$pid" 2> /dev/null; do nap; done
    [ "$killed" -eq 0 ] && echo "killed at: $cond" || echo "ended before: $cond (rc $(cat rc))"
    return "$killed"
}

# A 10 ms sleep without a fork (polling with /bin/sleep costs seconds of system time):
# a read that times out on a FIFO nobody writes to.
nap() {
    if [ -z "${NAP_FD:-}" ]; then mkfifo nap.fifo; exec {NAP_FD}<> nap.fifo; fi
    read -r -t 0.01 -u "$NAP_FD" || true
}

# Every file of the build dir under a final name (not a temporary, not a timed log) is
# byte-identical to the reference's: no partial file looks finished.
no_partial_file() {
    local f bad=0
    while read -r f; do
        cmp -s "$B/ref/$f" "$B/fr/$f" || { echo "not the finished file: $f"; bad=1; }
    done < <(cd "$B/fr" && find . -type f ! -name '*.tmp' ! -name '*.tmp.*' ! -path '*.tmp.*/*' | grep -Ev "/($TIMED)$")
    return "$bad"
}

# same_as_reference: the same file list and the same bytes as the reference (files with
# timings aside); sets SAME to the number of files compared.
same_as_reference() {
    diff <(cd "$B/ref" && find . -type f | grep -Ev "/($TIMED)\$" | sort) \
         <(cd "$B/fr" && find . -type f | grep -Ev "/($TIMED)\$" | sort)
    local f
    SAME=0
    while read -r f; do cmp "$B/ref/$f" "$B/fr/$f"; SAME=$((SAME + 1)); done \
        < <(cd "$B/ref" && find . -type f | grep -Ev "/($TIMED)\$")
    echo "$SAME files byte-identical"
}

@test "interrupt: make filter killed -9 at 8 points, then rerun = the uninterrupted run" {
    rm -rf "$B/fr"
    D="$B/fr/$(ls "$B/ref")/size64-seed1" O="$B/fr/$(ls "$B/ref")/size64-seed1/kauto"
    kills=0
    # Each kill lands in a different stage (the first file of a condition appears when the
    # stage before it is done, or when the stage starts writing its temporary).
    for cond in "compgen -G '$D/images.npy.tmp.*'" "[ -e $D/images.npy ]" "[ -e $D/features.npy ]" \
                "compgen -G '$D/tsne.npy.tmp.*'" "[ -e $D/tsne.npy ]" "[ -e $D/clusters-kauto.npy ]" \
                "[ -e $O/filtered.csv ]" "[ -e $O/sheet-cluster-0.png ]"; do
        kill_when "$cond" filter && kills=$((kills + 1))
        no_partial_file
    done
    # the last window (the last 4 contact sheets) is short: a loaded machine may miss it
    echo "$kills kills"
    [ "$kills" -ge 7 ]
    # the leftovers of the kills: temporaries only, never under a final name
    ls -R "$B/fr" | grep '\.tmp\.' || true
    run_make filter > rerun.log 2>&1
    # the same summary line as the uninterrupted run ("filter: kept N images, removed M -> ...")
    grep '^filter: kept ' "$B/ref.log" > want
    grep -qxF "$(cat want)" rerun.log
    # 9 files in the filter dir, 9 + one contact sheet per cluster in kauto/; and the
    # find-noise log (its lines carry no time)
    same_as_reference
    [ "$SAME" -eq $((18 + $(tail -n +2 "$B"/ref/*/size64-seed1/kauto/clusters.csv | wc -l))) ]
    cmp "$B"/ref/*/size64-seed1/kauto/find-noise.log "$B"/fr/*/size64-seed1/kauto/find-noise.log
    [ -z "$(find "$B/fr" -name '*.tmp' -o -name '*.tmp.*')" ]
}

@test "interrupt: task training (svm, cnn) killed -9 mid-way, then rerun = the uninterrupted run" {
    # the reference: the task's uninterrupted run on top of the finished filter
    rm -rf "$B/fr"
    cp -a "$B/ref" "$B/fr"
    run_make svm cnn "${TASK_ARGS[@]}" > ref-task.log 2>&1 || { cat ref-task.log; false; }
    rm -rf "$B/ref"
    cp -a "$B/fr" "$B/ref"
    D=$(echo "$B"/fr/*/size64-seed1)
    T=$D/kauto/tasks/human
    rm -rf "$T" "$D/raw32.npy" "$D/images32.npy"   # back to the finished filter alone
    kill_when "[ -e $T/svm/train.log ]" svm "${TASK_ARGS[@]}"                # in the C search
    no_partial_file
    kill_when "[ -e $T/svm/model.txt ]" svm "${TASK_ARGS[@]}" || true        # short: may end first
    no_partial_file
    kill_when "grep -qs 'epoch 1/' $T/cnn/train.log" cnn "${TASK_ARGS[@]}"   # in epoch 2 of 3
    no_partial_file
    kill_when "[ -e $T/cnn/model.weights ]" cnn "${TASK_ARGS[@]}" || true    # short: may end first
    no_partial_file
    run_make filter svm cnn "${TASK_ARGS[@]}" > rerun.log 2>&1 || { cat rerun.log; false; }
    same_as_reference
    [ "$SAME" -ge 40 ]
    for f in split/train.csv split/test.csv svm/model.txt svm/pred.csv svm/metrics.csv \
             cnn/model.weights cnn/curves.csv cnn/pred.csv cnn/metrics.csv; do
        cmp "$B/ref/${T#$B/fr/}/$f" "$T/$f"
    done
    [ -z "$(find "$B/fr" -name '*.tmp' -o -name '*.tmp.*')" ]
}

@test "interrupt: filter-move and filter-restore killed -9 mid-way, rerun: no image lost" {
    cp -r "$DS" ds2
    noise=$(echo "$B"/ref/*/size64-seed1/kauto/noise.csv)
    nnoise=$(($(wc -l < "$noise") - 1))
    moved_ok() { # every image is on one side only, and MOVED.csv lists every moved one
        [ "$(($(ls ds2/images | wc -l) + $(ls ds2/removed | grep -vc MOVED.csv)))" -eq 400 ]
        for f in $(ls ds2/removed | grep -v MOVED.csv); do grep -q ",$f\$" ds2/removed/MOVED.csv; done
    }
    kill_group_when "[ \$(ls ds2/removed | wc -l) -ge 3 ]" "$ROOT/pipelines/noise-files.sh" move ds2 "$noise"
    moved_ok
    n1=$(ls ds2/removed | grep -vc MOVED.csv)
    echo "moved before the kill: $n1 of $nnoise"
    "$ROOT/pipelines/noise-files.sh" move ds2 "$noise"
    [ "$(ls ds2/removed | grep -vc MOVED.csv)" -eq "$nnoise" ]
    [ "$(tail -n +2 ds2/removed/MOVED.csv | wc -l)" -eq "$nnoise" ]   # each listed once
    moved_ok
    kill_group_when "[ \$(ls ds2/images | wc -l) -ge $((400 - nnoise + 2)) ]" "$ROOT/pipelines/noise-files.sh" restore ds2
    moved_ok
    "$ROOT/pipelines/noise-files.sh" restore ds2
    [ ! -e ds2/removed ]
    diff -r "$DS" ds2
}

#!/usr/bin/env bats
# make predict IMAGES=dir: the assignment's task_N.csv files for a folder of new images, from
# the model with the best validation accuracy; each method's features made exactly as for
# training (the predictions for the test images equal the pipeline's own); caching; errors.

load helpers

# A small generated dataset, filtered, with every method trained quickly at 32x32 for
# smiling (the CNN first, so transfer uses its codes) and the SVM methods for hair_color
# (transfer on hand-crafted features, as no CNN exists for it).
setup_file() {
    export DS="$BATS_FILE_TMPDIR/ds" FR="$BATS_FILE_TMPDIR/fr"
    export ARGS="DATA=$DS FILTER_ROOT=$FR SIZE=32 SVM_ITER=2 CNN_EPOCHS=2"
    synth -q -n 300 --seed 3 "$DS"
    {
        make -s -C "$ROOT" task=smiling cnn $ARGS &&
        make -s -C "$ROOT" task=smiling transfer svm $ARGS &&
        make -s -C "$ROOT" task=hair_color transfer svm $ARGS &&
        # everything up to date, whatever a stage rebuilt in between retrained
        make -s -C "$ROOT" task=smiling cnn transfer svm $ARGS
    } > "$BATS_FILE_TMPDIR/train.log" 2>&1 || { cat "$BATS_FILE_TMPDIR/train.log" >&2; return 1; }
    export T="$FR/$(basename "$(ls -d "$FR"/*)")/size32-seed1/kauto/tasks"
    export P="$FR/$(basename "$(ls -d "$FR"/*)")/size32-seed1/kauto/predict"
}

setup() { cd "$BATS_TEST_TMPDIR"; }

# The validation accuracy of a method dir: run.csv, else the training log (the CNN: the
# epoch of lowest validation loss, whose weights it saved).
val_of() {
    if [ -f "$1/run.csv" ]; then sed -n 's/^val_accuracy,//p' "$1/run.csv"
    elif [ "$(basename "$1")" = cnn ]; then awk -F, 'NR > 1 && (NR == 2 || $4 < b) { b = $4; a = $5 } END { print a }' "$1/curves.csv"
    else sed -n 's/.*validation accuracy \([0-9.]*\).*/\1/p' "$1/train.log"; fi
}

# The method a task should use: best validation accuracy, ties to the first of svm, transfer, cnn.
best_of() {
    for m in svm transfer cnn; do [ -d "$T/$1/$m" ] && echo "$m $(val_of "$T/$1/$m")"; done |
        awk '$2 + 0 > b + 0 || NR == 1 { b = $2; m = $1 } END { print m }'
}

# Every prediction of task_N.csv ($2) for an image of the pipeline's predictions.csv ($1,
# `id,predicted,true` after the accuracy line) agrees; prints how many were compared.
same_as_pipeline() {
    awk -F, 'NR == FNR { if (FNR == 1) acc = $0; else p[$1 ".png"] = $2; next }
        FNR == 1 { if ($0 != acc) { print "accuracy line " $0 " != " acc; bad = 1 } next }
        $1 in p { n++; if (p[$1] != $2) { print $1 ": " $2 " != " p[$1]; bad = 1 } }
        END { print n + 0; exit bad }' "$1" "$2"
}

@test "predict: task_N.csv per trained task, exact format, the best model by validation accuracy" {
    run make -s -C "$ROOT" predict IMAGES="$DS/images" $ARGS
    echo "$output"
    [ "$status" -eq 0 ]
    said=$output
    d="$P/$(echo "$DS/images" | sed 's|^/||; s|/|_|g')"
    [ "$(cd "$d" && ls task_*.csv | tr '\n' ' ')" = "task_1.csv task_5.csv " ]
    for n in 2 3 4; do grep -q "^predict: task_$n ([a-z]*): no trained model in .*; skipped" <<< "$said"; done
    for tn in smiling:1 hair_color:5; do
        t=${tn%:*} n=${tn#*:} m=$(best_of ${tn%:*})
        for v in svm transfer cnn; do [ -d "$T/$t/$v" ] && echo "$t/$v: validation accuracy $(val_of "$T/$t/$v")"; done
        f="$d/task_$n.csv"
        grep -q "^predict: task_$n ($t): $m (validation accuracy $(val_of "$T/$t/$m"), test $(head -1 "$T/$t/$m/predictions.csv")), 300 images -> $f$" <<< "$said"
        # the first line is the chosen model's test accuracy, as evaluate wrote it
        [ "$(head -1 "$f")" = "$(head -1 "$T/$t/$m/predictions.csv")" ]
        grep -Eq '^0\.[0-9]{4}$' <(head -1 "$f")
        # then file,prediction for every image of the folder, in natural order, nothing else
        [ "$(wc -l < "$f")" -eq 301 ]
        [ "$(tail -n +2 "$f" | cut -d, -f1 | tr '\n' ' ')" = "$(seq 1 300 | sed 's/$/.png/' | tr '\n' ' ')" ]
        if [ $t = hair_color ]; then re='^[0-9]+\.png,[0-5]$'; else re='^[0-9]+\.png,(-1|1)$'; fi
        [ "$(tail -n +2 "$f" | grep -Evc "$re")" -eq 0 ]
        [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ]
        ! grep -q $'\r' "$f" || false
        # and the test images get the predictions the pipeline made for them
        run same_as_pipeline "$T/$t/$m/predictions.csv" "$f"
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$output" -eq "$(($(wc -l < "$T/$t/split/test.csv") - 1))" ]
    done
    # the predictions are not constant: hair colour (an SVM well above chance here) predicts
    # several classes (smiling's 2-epoch CNN on 300 images may sit at chance, one class)
    [ "$(tail -n +2 "$d/task_5.csv" | cut -d, -f2 | sort -u | wc -l)" -ge 3 ]
}

@test "predict METHOD=m: svm, transfer (CNN codes, hand-crafted) and cnn reproduce the pipeline's test predictions" {
    # the transfer models use what features.txt says
    grep -q '^CNN codes (layer -3) of the custom CNN' "$T/smiling/transfer/features.txt"
    grep -q '^hand-crafted features' "$T/hair_color/transfer/features.txt"
    # a folder holding only the test images of both tasks: other neighbours in every batch
    mkdir sub
    for id in $(tail -qn +2 "$T/smiling/split/test.csv" "$T/hair_color/split/test.csv" | cut -d, -f1 | sort -u); do
        cp "$DS/images/$id.png" sub/
    done
    for m in svm transfer cnn; do
        make -s -C "$ROOT" predict IMAGES="$PWD/sub" METHOD=$m $ARGS > out-$m.txt 2>&1 || { cat out-$m.txt; false; }
        d="$P/$(echo "$PWD/sub" | sed 's|^/||; s|/|_|g')-$m"
        run same_as_pipeline "$T/smiling/$m/predictions.csv" "$d/task_1.csv"
        echo "$m smiling: $output"
        [ "$status" -eq 0 ]
        [ "$output" -eq "$(($(wc -l < "$T/smiling/split/test.csv") - 1))" ]
        if [ $m = cnn ]; then
            [ ! -e "$d/task_5.csv" ]
            grep -q "task_5 (hair_color): no trained cnn in .*; skipped (make task=hair_color cnn)" out-$m.txt
            continue
        fi
        run same_as_pipeline "$T/hair_color/$m/predictions.csv" "$d/task_5.csv"
        echo "$m hair_color: $output"
        [ "$status" -eq 0 ]
        [ "$output" -eq "$(($(wc -l < "$T/hair_color/split/test.csv") - 1))" ]
    done
}

@test "predict: cached; a new image or a non-image in the folder" {
    cp -r "$DS/images" imgs
    make -s -C "$ROOT" predict IMAGES="$PWD/imgs" task=smiling $ARGS > first.txt 2>&1
    d="$P/$(echo "$PWD/imgs" | sed 's|^/||; s|/|_|g')"
    # nothing is recomputed the second time
    run make -C "$ROOT" predict IMAGES="$PWD/imgs" task=smiling $ARGS
    [ "$status" -eq 0 ]
    ! grep -q 'bin/' <<< "$output" || false
    # a new image (a copy of 7.png) and a text file: decoded again, the text file skipped
    cp imgs/7.png imgs/extra.png
    echo hello > imgs/notes.txt
    run make -C "$ROOT" predict IMAGES="$PWD/imgs" task=smiling $ARGS
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "^bin/decode --skip-bad --size 32 --all $PWD/imgs" <<< "$output"
    grep -q "decode: skipping $PWD/imgs/notes.txt: not a PNG or JPEG image" <<< "$output"
    grep -q "301 images -> $d/task_1.csv" <<< "$output"
    [ "$(wc -l < "$d/task_1.csv")" -eq 302 ]
    [ "$(tail -1 "$d/task_1.csv" | cut -d, -f1)" = extra.png ]
    [ "$(grep '^extra.png,' "$d/task_1.csv" | cut -d, -f2)" = "$(grep '^7.png,' "$d/task_1.csv" | cut -d, -f2)" ]
    ! grep -q notes "$d/task_1.csv" || false
    [ -z "$(ls "$d" | grep tmp)" ]
}

@test "predict: a model newer than its report, or a transfer older than its CNN, is not used" {
    ref="$BATS_TEST_TMPDIR/ref"
    touch -r "$T/smiling/cnn/model.weights" "$ref"
    touch "$T/smiling/cnn/model.weights"        # as if the CNN had been retrained
    run make -s -C "$ROOT" predict IMAGES="$DS/images" task=smiling $ARGS
    touch -r "$ref" "$T/smiling/cnn/model.weights"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "predict: smiling/transfer is not used: the CNN was retrained after it (make task=smiling transfer)" <<< "$output"
    grep -q "predict: smiling/cnn is not used: its test report is older than .*/cnn/model.weights (make task=smiling cnn)" <<< "$output"
    grep -q "^predict: task_1 (smiling): svm (validation accuracy" <<< "$output"
}

@test "predict: errors name what is missing" {
    run make -s -C "$ROOT" predict $ARGS
    [ "$status" -eq 2 ]
    [[ "$output" == *"make predict needs IMAGES=DIR"* ]]
    run make -s -C "$ROOT" predict IMAGES=/nonexistent/dir $ARGS
    [ "$status" -eq 2 ]
    [[ "$output" == *"IMAGES=/nonexistent/dir is not a directory"* ]]
    run make -s -C "$ROOT" predict IMAGES="$DS/images" METHOD=knn $ARGS
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown METHOD 'knn'; valid methods: svm transfer cnn"* ]]
    # models for another dataset (none trained) or another task
    run make -s -C "$ROOT" predict IMAGES="$DS/images" DATA="$BATS_TEST_TMPDIR" FILTER_ROOT="$FR" SIZE=32
    [ "$status" -eq 2 ]
    [[ "$output" == *"no trained model for any task under"* ]]
    run make -s -C "$ROOT" predict IMAGES="$DS/images" task=young $ARGS
    [ "$status" -eq 2 ]
    [[ "$output" == *"no trained model for task young under"* ]]
}

# A copy (mtimes kept) of the trained state in ./NAME, so a test may change it and the other
# tests keep theirs: A = make's arguments for it, T2 = its tasks folder.
copy_trained() {
    cp -a "$FR" "$1"
    A="DATA=$DS FILTER_ROOT=$PWD/$1 SIZE=32 SVM_ITER=2 CNN_EPOCHS=2"
    T2="$PWD/$1/$(basename "$(ls -d "$FR"/*)")/size32-seed1/kauto/tasks"
}

# make predict METHOD=$1 (further make arguments after it) on a folder (sub/) of the smiling
# test images of $T2: it must label each as that method's predictions.csv does. Sets pd, the
# predictions' directory.
predict_smiling_tests() {
    local m=$1; shift
    mkdir -p sub
    for id in $(tail -n +2 "$T2/smiling/split/test.csv" | cut -d, -f1); do cp "$DS/images/$id.png" sub/; done
    make -s -C "$ROOT" predict IMAGES="$PWD/sub" METHOD="$m" task=smiling "$@" $A > p.log 2>&1 || { cat p.log; false; }
    pd="$T2/../predict/$(echo "$PWD/sub" | sed 's|^/||; s|/|_|g')-$m"
    run same_as_pipeline "$T2/smiling/$m/predictions.csv" "$pd/task_1.csv"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" -eq "$(($(wc -l < "$T2/smiling/split/test.csv") - 1))" ]
}

@test "TRANSFER_FEATURES: cnn trains the task's CNN first, hand switches back and retrains, a bad value is refused" {
    copy_trained fr2
    grep -q "^hand-crafted features (no CNN trained" "$T2/hair_color/transfer/features.txt"
    [ ! -e "$T2/hair_color/cnn/model.weights" ]
    make -s -C "$ROOT" task=hair_color transfer TRANSFER_FEATURES=cnn $A > cnn.log 2>&1 || { cat cnn.log; false; }
    [ -f "$T2/hair_color/cnn/model.weights" ]
    grep -qx "CNN codes (layer -3) of the custom CNN trained on this task's training rows" "$T2/hair_color/transfer/features.txt"
    # the model was trained on the codes: 512 features, as the CNN's dense layer has
    grep -qx "features 512" "$T2/hair_color/transfer/model.txt"
    # back to the hand-crafted features: the transfer model is retrained on them
    make -s -C "$ROOT" task=hair_color transfer TRANSFER_FEATURES=hand $A > hand.log 2>&1 || { cat hand.log; false; }
    grep -qx "hand-crafted features (TRANSFER_FEATURES=hand)" "$T2/hair_color/transfer/features.txt"
    grep -qx "features 824" "$T2/hair_color/transfer/model.txt"
    # the same choice again: nothing to redo
    run make -C "$ROOT" task=hair_color transfer TRANSFER_FEATURES=hand $A
    [ "$status" -eq 0 ]
    ! grep -q '^bin/\|training time' <<< "$output" || false
    run make -s -C "$ROOT" task=hair_color transfer TRANSFER_FEATURES=pixels $A
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown TRANSFER_FEATURES 'pixels'; valid: auto cnn hand"* ]]
}

@test "cnn train.time: recovered from the epochs of train.log when training died after saving its weights" {
    copy_trained fr3
    C="$T2/smiling/cnn"
    # as if killed right after the weights were saved: no final log lines, no train.time; and
    # as if it had refitted (train-cnn's lines for two refit epochs, which count too)
    { grep '^train-cnn: epoch ' "$C/train.log"
      echo "train-cnn: refit epoch 1/2 train loss 0.5000 acc 0.8000 | train 1.50 s (100 img/s, cpu 1.25 s), lr 0.001"
      echo "train-cnn: refit epoch 2/2 train loss 0.4000 acc 0.8500 | train 2.00 s (100 img/s, cpu 1.75 s), lr 0.0005"
    } > log && mv log "$C/train.log"
    rm "$C/train.time"
    touch "$C/model.weights"
    run make -C "$ROOT" task=smiling cnn $A
    [ "$status" -eq 0 ]
    ! grep -q '^bin/train-cnn\|env -u FP_QUIET' <<< "$output" || false    # not trained again
    # wall = the sum of the epochs' times, CPU = the sum of their CPU seconds (summed here by
    # grep + bc, not by the recipe's awk), system time unknown (0)
    wall=$(grep -o ', epoch [0-9.]* s' "$C/train.log" | cut -d' ' -f3 | awk '{ s += $1 } END { print s + 1.5 + 2.0 }')
    cpu=$(grep -o '(.* img/s, cpu [0-9.]* s)' "$C/train.log" | sed 's/.*cpu //; s/ s)//' | awk '{ s += $1 } END { print s }')
    [ "$(grep -c '^train-cnn: refit epoch .*cpu' "$C/train.log")" -eq 2 ]
    [ "$(grep -c '^train-cnn: epoch ' "$C/train.log")" -ge 2 ]
    read -r w c sys < "$C/train.time"
    awk -v a="$w" -v b="$wall" -v c="$c" -v d="$cpu" -v s="$sys" 'BEGIN { exit !(a == b && c == d && s == 0 && b > 0) }'
    grep -q "^train_wall_s,$(cut -d' ' -f1 "$C/train.time")" "$C/run.csv"
    # a log without a single epoch cannot give times: a clear error, no train.time
    : > "$C/train.log"
    rm "$C/train.time"
    touch "$C/model.weights"
    run make -s -C "$ROOT" task=smiling cnn $A
    [ "$status" -ne 0 ]
    [[ "$output" == *"no times in $C/train.log; remove $C/model.weights to train again"* ]]
    [ ! -e "$C/train.time" ]
}

@test "CNN_MEMBERS=2: an ensemble of two networks for the test rows, run.csv and make predict; back to one" {
    copy_trained fr4
    C="$T2/smiling/cnn" IMG="$T2/../../images.npy"
    # network 1 as trained before val-model.weights was kept (without refit=1: it stands for itself)
    rm "$C/val-model.weights" "$C/val-model.weights.cfg"
    make -s -C "$ROOT" task=smiling cnn CNN_MEMBERS=2 $A > ens.log 2>&1 || { cat ens.log; false; }
    # the first network is kept; the second is trained (seed SEED + 1), a network of its own
    grep -q "^smiling/cnn/member-2: best epoch" ens.log
    ! grep -q "^smiling/cnn: best epoch" ens.log || false
    [ "$(cat "$C/members.txt")" = "model.weights member-2/model.weights" ]
    ! cmp -s "$C/model.weights" "$C/member-2/model.weights" || false
    train-cnn --cfg "$ROOT/pipelines/cnn-aug.cfg" --split "$T2/smiling/split" --seed 2 --epochs 2 \
        -o again.weights "$IMG" > /dev/null
    cmp again.weights "$C/member-2/model.weights"
    # the test rows: what train-cnn predicts with both networks
    train-cnn --predict --load "$C/model.weights" --load "$C/member-2/model.weights" \
        --split "$T2/smiling/split" "$IMG" > both.csv
    cmp both.csv "$C/pred.csv"
    # run.csv: the ensemble's validation accuracy, the training time of both networks
    va=$(sed -n 's/.* test images, accuracy \([0-9.]*\),.*/\1/p' "$C/val-ensemble.log")
    [ -n "$va" ]
    grep -qx "val_accuracy,$va" "$C/run.csv"
    # network 1 stood for itself (no val-model.weights made up for it); network 2 kept its own
    [ ! -e "$C/val-model.weights" ]
    cmp "$C/member-2/model.weights" "$C/member-2/val-model.weights"
    w=$(cat "$C/train.time" "$C/member-2/train.time" | awk '{ s += $1 } END { printf "%.3f", s }')
    grep -qx "train_wall_s,$w" "$C/run.csv"
    grep -q "^features,.*(ensemble of 2 networks; mean softmax)$" "$C/run.csv"
    # make predict labels new images with both networks: the test images as the pipeline did
    predict_smiling_tests cnn
    # ... and watches both networks (a retrained one means new predictions)
    grep -q "member-2/model.weights$" "$pd/task_1.choice"
    # a network retrained after the test report: the report no longer describes the ensemble
    touch "$C/member-2/model.weights"
    run make -s -C "$ROOT" predict IMAGES="$PWD/sub" METHOD=cnn task=smiling $A
    grep -q "smiling/cnn is not used: its test report is older than $C/member-2/model.weights" <<< "$output"
    make -s -C "$ROOT" task=smiling cnn CNN_MEMBERS=2 $A > again.log 2>&1 || { cat again.log; false; }
    # the same count again: nothing to redo (the training recipes are silent: they show
    # themselves by their "best epoch" line, the report by its accuracy)
    run make -C "$ROOT" task=smiling cnn CNN_MEMBERS=2 $A
    [ "$status" -eq 0 ]
    ! grep -q '^bin/\|train-cnn\|best epoch\|accuracy' <<< "$output" || false
    # back to one network: its predictions alone, nothing trained
    make -s -C "$ROOT" task=smiling cnn $A > one.log 2>&1 || { cat one.log; false; }
    ! grep -q "best epoch" one.log || false
    [ "$(cat "$C/members.txt")" = "model.weights" ]
    train-cnn --predict --load "$C/model.weights" --split "$T2/smiling/split" "$IMG" > one.csv
    cmp one.csv "$C/pred.csv"
    grep -qx "features,pixels 32x32x3 / 255 into pipelines/cnn-aug.cfg" "$C/run.csv"
    run make -s -C "$ROOT" task=smiling cnn CNN_MEMBERS=two $A
    [ "$status" -eq 2 ]
    [[ "$output" == *"CNN_MEMBERS 'two': expected a whole number of networks, 1 to 16"* ]]
}

@test "recipe.txt: a model follows its settings both ways; CNN_CFG with two cfgs is an ensemble of two networks" {
    copy_trained fr5
    C="$T2/smiling/cnn" IMG="$T2/../../images.npy"
    two="pipelines/cnn-aug.cfg pipelines/cnn-original.cfg"
    make -s -C "$ROOT" task=smiling cnn CNN_CFG="$two" $A > two.log 2>&1 || { cat two.log; false; }
    # as many networks as cfgs: network 1 is kept (same cfg, seed), network 2 trains the
    # second cfg with seed 2 - the bytes train-cnn gives for that
    ! grep -q "^smiling/cnn: best epoch" two.log || false
    grep -q "^smiling/cnn/member-2: best epoch" two.log
    [ "$(cat "$C/members.txt")" = "model.weights member-2/model.weights" ]
    [ "$(cat "$C/member-2/recipe.txt")" = "$(printf "cfg=$ROOT/pipelines/cnn-original.cfg\nseed=2\nepochs=2\nsize=32")" ]
    train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$T2/smiling/split" --seed 2 --epochs 2 \
        -o again.weights "$IMG" > /dev/null
    cmp again.weights "$C/member-2/model.weights"
    grep -qx "features,pixels 32x32x3 / 255 into $two (ensemble of 2 networks; mean softmax)" "$C/run.csv"
    # one network again, on a cfg older than its weights: trained again (a date cannot tell)
    make -s -C "$ROOT" task=smiling cnn CNN_CFG=pipelines/cnn-original.cfg $A > orig.log 2>&1 || { cat orig.log; false; }
    grep -q "^smiling/cnn: best epoch" orig.log
    grep -qx "cfg=$ROOT/pipelines/cnn-original.cfg" "$C/recipe.txt"
    grep -qx "features,pixels 32x32x3 / 255 into pipelines/cnn-original.cfg" "$C/run.csv"
    # and back: trained again, the same bytes as the first time (same cfg, seed, rows)
    make -s -C "$ROOT" task=smiling cnn $A > back.log 2>&1 || { cat back.log; false; }
    grep -q "^smiling/cnn: best epoch" back.log
    cmp "$C/model.weights" "$FR/$(basename "$(ls -d "$FR"/*)")/size32-seed1/kauto/tasks/smiling/cnn/model.weights"
    # the SVM: SVM_ITER 2 -> 3 -> 2 searches again each time (search.csv: one line per C)
    S="$T2/smiling/svm"
    [ "$(($(wc -l < "$S/search.csv") - 1))" -eq 2 ]
    make -s -C "$ROOT" task=smiling svm $A SVM_ITER=3 > s3.log 2>&1 || { cat s3.log; false; }
    [ "$(($(wc -l < "$S/search.csv") - 1))" -eq 3 ]
    make -s -C "$ROOT" task=smiling svm $A > s2.log 2>&1 || { cat s2.log; false; }
    [ "$(($(wc -l < "$S/search.csv") - 1))" -eq 2 ]
    cmp "$S/model.txt" "$FR/$(basename "$(ls -d "$FR"/*)")/size32-seed1/kauto/tasks/smiling/svm/model.txt"
    # the layer of the CNN codes: extracted again, the transfer model trained again
    make -s -C "$ROOT" task=smiling transfer CNN_CODE_LAYER=-2 $A > l2.log 2>&1 || { cat l2.log; false; }
    grep -qx "layer=-2" "$C/codes.recipe"
    grep -q "^smiling/transfer: training time" l2.log
    make -s -C "$ROOT" task=smiling transfer $A > l3.log 2>&1 || { cat l3.log; false; }
    grep -q "^smiling/transfer: training time" l3.log
    # the same settings again: nothing to redo
    run make -C "$ROOT" task=smiling svm transfer cnn $A
    [ "$status" -eq 0 ]
    ! grep -q '^bin/\|train-cnn\|training time\|best epoch\|accuracy' <<< "$output" || false
    # fewer networks than cfgs: refused
    run make -s -C "$ROOT" task=smiling cnn CNN_CFG="$two" CNN_MEMBERS=1 $A
    [ "$status" -eq 2 ]
    [[ "$output" == *"CNN_MEMBERS 1 is fewer than the 2 cfgs of CNN_CFG"* ]]
}

@test "refit=1: the ensemble's validation accuracy and the transfer codes come from the networks chosen before the refit" {
    copy_trained fr7
    C="$T2/smiling/cnn" IMG="$T2/../../images.npy" V="$T2/smiling/split/val.csv"
    sed 's/^patience=8$/patience=8\nrefit=1/' "$ROOT/pipelines/cnn-aug.cfg" > "$PWD/refit.cfg"
    two="$PWD/refit.cfg pipelines/cnn-aug.cfg"
    make -s -C "$ROOT" task=smiling cnn transfer CNN_CFG="$two" $A > two.log 2>&1 || { cat two.log; false; }
    # network 1 refitted: the network chosen on the validation rows is val-model.weights, the
    # bytes train-cnn gives without the refit
    grep -q "^smiling/cnn: best epoch .*, refit on [0-9]* train + val images" two.log
    grep -qx 'refit=1' "$C/model.weights.cfg"
    train-cnn --cfg "$ROOT/pipelines/cnn-aug.cfg" --split "$T2/smiling/split" --epochs 2 -o plain.weights "$IMG" > /dev/null
    cmp plain.weights "$C/val-model.weights"
    ! cmp -s "$C/model.weights" "$C/val-model.weights" || false
    # the test rows: both networks as saved (the refitted one)
    train-cnn --predict --load "$C/model.weights" --load "$C/member-2/model.weights" \
        --split "$T2/smiling/split" "$IMG" > both.csv
    cmp both.csv "$C/pred.csv"
    # the validation rows: the networks that never saw them
    va=$(env -u FP_QUIET train-cnn --predict --load "$C/val-model.weights" --load "$C/member-2/model.weights" \
        --test "$V" --predictions vp.csv "$IMG" 2>&1 > /dev/null | sed -n 's/.* test images, accuracy \([0-9.]*\),.*/\1/p')
    [ -n "$va" ]
    cmp vp.csv "$C/val-pred.csv"
    grep -qx "val_accuracy,$va" "$C/run.csv"
    # the transfer method's codes too, and make predict computes new images' codes with it
    extract-features --cfg "$C/val-model.weights.cfg" --weights "$C/val-model.weights" --layer -3 "$IMG" 2> /dev/null |
        cmp - "$C/codes.npy"
    predict_smiling_tests transfer CNN_CFG="$two"
    grep -q "cnn/val-model.weights$" "$pd/task_1.choice"
    # a refitted network whose val-model.weights is gone: refused, not measured on its own training rows
    rm "$C/val-model.weights"
    run make -s -C "$ROOT" predict IMAGES="$PWD/sub" METHOD=transfer task=smiling CNN_CFG="$two" $A
    [[ "$output" == *"smiling/transfer is not used: $C/val-model.weights: missing, and $C/model.weights was refitted on the validation rows: the network its codes came from is gone"* ]]
    touch "$C/member-2/model.weights"
    run make -s -C "$ROOT" task=smiling cnn CNN_CFG="$two" $A
    [ "$status" -ne 0 ]
    [[ "$output" == *"$C/val-model.weights: missing, and $C/model.weights was refitted on the validation rows: remove it to train again"* ]]
}

@test "recipe.txt: a model made before recipe.txt existed is adopted, not retrained" {
    copy_trained fr6
    rm "$T2"/smiling/*/recipe.txt "$T2"/smiling/cnn/codes.recipe
    make -s -C "$ROOT" task=smiling svm transfer cnn $A > up.log 2>&1 || { cat up.log; false; }
    cat up.log      # shown when the test fails
    ! grep -q 'training time\|best epoch' up.log || false
    grep -q "smiling/cnn/model.weights: made before recipe.txt existed; taken as made with: cfg=$ROOT/pipelines/cnn-aug.cfg seed=1 epochs=2 size=32" up.log
    grep -q "smiling/svm/model.txt: made before recipe.txt existed" up.log
    [ "$(cat "$T2/smiling/svm/recipe.txt")" = "$(printf 'size=32\nn_iter=2\nfolds=3\nseed=1')" ]
    [ ! "$T2/smiling/cnn/recipe.txt" -nt "$T2/smiling/cnn/model.weights" ]
    [ "$(cat "$T2/smiling/cnn/codes.recipe")" = "layer=-3" ]
}

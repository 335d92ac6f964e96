#!/usr/bin/env bats
# train-cnn: learning an easy synthetic task, learning curves, reproducible weights (same seed,
# any thread count), reloading for prediction, clean stdout, error messages.

load helpers

# A synthetic dataset made once per file: N images S x S x 3 where image i has class i % K,
# a bright 8x8 square on dark noise (top-left for class 0, bottom-right for 1, centre for 2,
# jittered by 0..3 px); split in file order into train/val/test = 60/20/20 %.
make_cnn_data() { # DIR N CLASSES SIDE
    local d=$1 n=$2 k=$3 s=$4
    [ -f "$d/img.npy" ] && return 0
    mkdir -p "$d/split"
    awk -v n="$n" -v k="$k" -v S="$s" -v labels="$d/labels.csv" 'BEGIN {
        srand(1)
        printf "id"; for (j = 0; j < S * S * 3; j++) printf ",x%d", j; printf "\n"
        print "file_name,label" > labels
        for (i = 1; i <= n; i++) {
            c = i % k
            if (c == 0) { y0 = 2; x0 = 2 } else if (c == 1) { y0 = S - 12; x0 = S - 12 } else { y0 = S / 2 - 4; x0 = S / 2 - 4 }
            y0 += int(rand() * 4); x0 += int(rand() * 4)
            printf "img%d", i
            for (y = 0; y < S; y++) for (x = 0; x < S; x++) for (ch = 0; ch < 3; ch++) {
                v = int(rand() * 90)
                if (y >= y0 && y < y0 + 8 && x >= x0 && x < x0 + 8) v = 160 + int(rand() * 90)
                printf ",%d", v
            }
            printf "\n"
            print "img" i "," c > labels
        }
    }' | mat from-csv --type u8 --shape "${s}x${s}x3" -o "$d/img.npy"
    awk -v n="$n" -v d="$d/split" 'NR == 1 { print > (d "/train.csv"); print > (d "/val.csv"); print > (d "/test.csv"); next }
        { f = (NR - 1 <= 0.6 * n) ? "train" : (NR - 1 <= 0.8 * n) ? "val" : "test"; print > (d "/" f ".csv") }' "$d/labels.csv"
}

setup() {
    D="$BATS_FILE_TMPDIR/two"
    make_cnn_data "$D" 240 2 32
    cd "$BATS_TEST_TMPDIR"
}

# Accuracy of a predictions CSV against a split CSV (both file_name first, label/predicted second).
accuracy() {
    awk -F, 'NR == FNR { if (FNR > 1) truth[$1] = $2; next } FNR > 1 { n++; ok += (truth[$1] == $2) } END { printf "%.4f\n", ok / n }' "$1" "$2"
}

@test "train-cnn: learns an easy task (test accuracy >= 0.9), curves CSV and PNG, clean stdout" {
    train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o m.weights --epochs 6 --patience 0 \
        --curves curves.csv --plot curves.png --seed 3 "$D/img.npy" > pred.csv
    [ "$(head -1 pred.csv)" = "file_name,predicted,score" ]
    [ "$(wc -l < pred.csv)" -eq 49 ]                     # 48 test rows: nothing else on stdout
    acc=$(accuracy "$D/split/test.csv" pred.csv)
    echo "test accuracy $acc"
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
    [ "$(head -1 curves.csv)" = "epoch,train_loss,train_acc,val_loss,val_acc" ]
    [ "$(wc -l < curves.csv)" -eq 7 ]                    # header + one row per epoch
    [ "$(head -c 4 curves.png | od -An -c | tr -d ' ')" = "211PNG" ]
    # the cfg actually used is saved next to the weights, with the data's size and classes
    grep -q '^height=32$' m.weights.cfg
    grep -q '^width=32$' m.weights.cfg
    [ "$(grep -c '^output=2$' m.weights.cfg)" -eq 1 ]
    # the other networks of pipelines/ learn it too (batch norm included)
    for cfg in cnn cnn-aug cnn-aug-bn; do
        train-cnn --cfg "$ROOT/pipelines/$cfg.cfg" --split "$D/split" -o $cfg.weights --epochs 6 --patience 0 \
            --seed 3 "$D/img.npy" > $cfg.csv
        acc=$(accuracy "$D/split/test.csv" $cfg.csv)
        echo "$cfg: test accuracy $acc"
        awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
    done
    [ "$(grep -c '^batch_normalize=1$' cnn-aug-bn.weights.cfg)" -eq 6 ]
}

@test "train-cnn: same seed -> byte-identical weights, with 1 or 2 threads; another seed differs" {
    for run in a:1 b:2; do
        train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o "${run%:*}.weights" --epochs 2 \
            --patience 0 --seed 7 -j "${run#*:}" "$D/img.npy" > "${run%:*}.csv"
    done
    cmp a.weights b.weights
    cmp a.csv b.csv
    train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o c.weights --epochs 2 --patience 0 \
        --seed 8 "$D/img.npy" > c.csv
    ! cmp -s a.weights c.weights || false
}

@test "train-cnn: shifts, zoom and mirror TTA are seeded, recorded in MODEL.cfg and used by --predict" {
    for run in a:1 b:2; do
        train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o "${run%:*}.weights" --epochs 2 \
            --patience 0 --seed 7 --translate 10 --zoom 10 --tta -j "${run#*:}" "$D/img.npy" > "${run%:*}.csv"
    done
    cmp a.weights b.weights
    cmp a.csv b.csv
    # one line each: in an && list only the last command's failure fails the test
    grep -qx 'translate=10' a.weights.cfg
    grep -qx 'zoom=10' a.weights.cfg
    grep -qx 'tta=1' a.weights.cfg
    # the same run without shifts and zoom trains on other pixels: other weights
    train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o c.weights --epochs 2 --patience 0 \
        --seed 7 --tta "$D/img.npy" > c.csv
    ! cmp -s a.weights c.weights || false
    grep -qx 'translate=0' c.weights.cfg
    # --predict takes tta=1 from the saved cfg: the same bytes; --no-tta other scores
    train-cnn --predict --load a.weights --cfg a.weights.cfg --split "$D/split" "$D/img.npy" > again.csv
    cmp a.csv again.csv
    train-cnn --predict --no-tta --load a.weights --cfg a.weights.cfg --split "$D/split" "$D/img.npy" > single.csv
    ! cmp -s a.csv single.csv || false
}

@test "train-cnn --plateau: the learning rate drops after flat epochs, and the drop is recorded" {
    env -u FP_QUIET train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o m.weights \
        --epochs 8 --patience 0 --lr 0.01 --plateau 1 --plateau-factor 0.5 --curves c.csv "$D/img.npy" > /dev/null 2> err.txt
    # one drop per epoch whose validation loss is not the lowest so far
    flat=$(awk -F, 'NR > 1 { if (b == "" || $4 < b) b = $4; else n++ } END { print n + 0 }' c.csv)
    echo "flat epochs: $flat"
    [ "$flat" -ge 1 ]
    [ "$(grep -c 'learning rate now' err.txt)" -eq "$flat" ]
    grep -q "learning rate now 0.005$" err.txt
    grep -qx 'plateau=1' m.weights.cfg
}

@test "train-cnn --cosine: the learning rate follows half a cosine to 0, and is recorded" {
    env -u FP_QUIET train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o m.weights \
        --epochs 4 --patience 0 --lr 0.001 --cosine "$D/img.npy" > /dev/null 2> err.txt
    # at the first step of epoch e of 4: 0.001 (1 + cos(pi (e - 1) / 4)) / 2
    lrs=$(sed -n 's/.*epoch [0-9]\/4 .*, lr \([0-9.e-]*\).*/\1/p' err.txt | tr '\n' ' ')
    echo "lr by epoch: $lrs"
    [ "$lrs" = "0.001 0.000854 0.0005 0.000146 " ]
    grep -qx 'cosine=1' m.weights.cfg
    # without the schedule (4 steps at 0.001): other weights
    train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o c.weights --epochs 4 --patience 0 \
        --lr 0.001 "$D/img.npy" > /dev/null
    ! cmp -s m.weights c.weights || false
    ! grep -q 'cosine=1' c.weights.cfg || false
    # pipelines/cnn-aug-cos.cfg asks for it (cosine=1, patience=0): every epoch runs
    env -u FP_QUIET train-cnn --cfg "$ROOT/pipelines/cnn-aug-cos.cfg" --split "$D/split" -o k.weights \
        --epochs 3 "$D/img.npy" > /dev/null 2> err3.txt
    lrs=$(sed -n 's/.*epoch [0-9]\/3 .*, lr \([0-9.e-]*\).*/\1/p' err3.txt | tr '\n' ' ')
    [ "$lrs" = "0.001 0.00075 0.00025 " ]
    grep -q 'best epoch [0-9] of 3 ' err3.txt
}

@test "train-cnn: the direct convolutions and the image-by-image trunk train like im2col + GEMM" {
    # FP_DN_DIRECT=0: im2col + OpenBLAS layer by layer (CPUs without AVX-512); FP_DN_TRUNK=0:
    # direct convolutions layer by layer. Sums in other orders: close, not byte-identical.
    for v in default FP_DN_DIRECT=0 FP_DN_TRUNK=0; do
        f=${v%=0}               # file names without "=": awk takes x=y.csv for an assignment
        env ${v/default/X=1} train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" \
            -o "$f.weights" --epochs 3 --patience 0 --seed 5 "$D/img.npy" > "$f.csv"
        acc=$(accuracy "$D/split/test.csv" "$f.csv")
        echo "$v: test accuracy $acc"
        awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
    done
    for f in FP_DN_DIRECT FP_DN_TRUNK; do
        agree=$(paste -d, default.csv "$f.csv" | awk -F, 'NR > 1 { n += ($2 == $5) } END { print n }')
        echo "$f=0: $agree of 48 predicted classes as by default"
        [ "$agree" -ge 46 ]
    done
}

@test "train-cnn --predict: reloading the saved weights reproduces the test predictions exactly" {
    train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o m.weights --epochs 3 --patience 0 \
        "$D/img.npy" > pred.csv
    train-cnn --predict --load m.weights --cfg m.weights.cfg --split "$D/split" "$D/img.npy" > again.csv
    cmp pred.csv again.csv
    # without a split: every row of the stream, in stream order
    train-cnn --predict --load m.weights --cfg m.weights.cfg < "$D/img.npy" > all.csv
    [ "$(wc -l < all.csv)" -eq 241 ]
    [ "$(sed -n 2p all.csv | cut -d, -f1)" = img1 ]
}

@test "train-cnn --predict with several --load: an ensemble, the mean of the members' softmax" {
    for s in 1 2; do
        train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D/split" -o m$s.weights --epochs 2 --patience 0 \
            --seed $s "$D/img.npy" > /dev/null
        train-cnn --predict --load m$s.weights --split "$D/split" "$D/img.npy" > p$s.csv
    done
    # one model without --cfg: its own MODEL.cfg, the same as naming it
    train-cnn --predict --load m1.weights --cfg m1.weights.cfg --split "$D/split" "$D/img.npy" > named.csv
    cmp p1.csv named.csv
    ! cmp -s p1.csv p2.csv || false
    env -u FP_QUIET train-cnn --predict --load m1.weights --load m2.weights --split "$D/split" \
        "$D/img.npy" > ens.csv 2> ens.log
    grep -q "48 test images, accuracy .*(2 models" ens.log
    [ "$(wc -l < ens.csv)" -eq 49 ]
    # score = mean probability of class 1 (each printed to 1e-6), predicted = the larger class
    paste -d, p1.csv p2.csv ens.csv | awk -F, 'NR == 1 { next }
        { n++; m = ($3 + $6) / 2; d = $9 - m; if (d > 2e-6 || d < -2e-6) bad++
          if ($7 != $1 || $8 != ($9 > 0.5)) bad++ }
        END { exit bad || n != 48 }'
    run train-cnn --predict --load m1.weights --load m2.weights --cfg m1.weights.cfg "$D/img.npy"
    [ "$status" -eq 2 ]
    [[ "$output" == *"drop --cfg"* ]]
    cp m2.weights lone.weights
    run train-cnn --predict --load m1.weights --load lone.weights "$D/img.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"lone.weights.cfg: no such cfg"* ]]
    # a test list with a class the networks do not have: the list and the row are named
    printf 'file_name,label\nimg3,0\nimg4,2\n' > three.csv
    run train-cnn --predict --load m1.weights --test three.csv "$D/img.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"three.csv: img4 has label 2 but the network has 2 classes"* ]]
}

@test "train-cnn: early stopping on validation loss restores the best epoch's weights" {
    train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o m.weights --epochs 12 \
        --patience 2 --lr 0.01 --curves c.csv "$D/img.npy" > /dev/null
    # stopping rule: the run ends `patience` epochs after the best one, or at --epochs
    read -r best ran best_acc < <(awk -F, 'NR > 1 { if (b == "" || $4 < b) { b = $4; e = $1; a = $5 } n = $1 } END { print e, n, a }' c.csv)
    echo "best epoch $best of $ran (val acc $best_acc)"
    [ "$ran" -eq $((best + 2 < 12 ? best + 2 : 12)) ]
    # the saved weights are the best epoch's: they give that epoch's validation accuracy
    train-cnn --predict --load m.weights --cfg m.weights.cfg --test "$D/split/val.csv" "$D/img.npy" > val.csv
    [ "$(accuracy "$D/split/val.csv" val.csv)" = "$(printf '%.4f' "$best_acc")" ]
    grep -qx 'patience=2' m.weights.cfg
    # patience= in the cfg instead of --patience: the same run
    sed 's/^flip=0$/flip=0\npatience=2/' "$ROOT/pipelines/cnn-original.cfg" > p2.cfg
    train-cnn --cfg p2.cfg --split "$D/split" -o p.weights --epochs 12 --lr 0.01 --curves p.csv "$D/img.npy" > /dev/null
    cmp c.csv p.csv
}

@test "train-cnn --val-model: none of -o, --val-model and their cfgs may be one file, however spelt" {
    mkdir -p sub && touch m.weights && ln -sf ../m.weights sub/link.weights && ln -sf new.weights dangling
    for pair in "same.weights same.weights same.weights" "same.weights ./same.weights ./same.weights" \
                "sub/../same.weights same.weights same.weights" "m.weights sub/link.weights sub/link.weights" \
                "new.weights dangling dangling" "m m.cfg m.cfg" "m.cfg m m.cfg"; do
        set -- $pair
        run train-cnn --split "$D/split" -o "$1" --val-model "$2" "$D/img.npy"
        [ "$status" -eq 2 ]
        [[ "$output" == *"--val-model $2 and -o $1 would write the same file $3"* ]]
    done
    [ ! -e new.weights ] && [ ! -e same.weights ]
}

@test "train-cnn --refit: the validation run's network kept apart, then a fresh one on train + val for its best epoch count" {
    env -u FP_QUIET train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o r.weights \
        --val-model v.weights --epochs 8 --patience 2 --lr 0.01 --refit --curves c.csv "$D/img.npy" > test-r.csv 2> log
    cat log     # shown when the test fails
    best=$(awk -F, 'NR > 1 && (b == "" || $4 < b) { b = $4; e = $1 } END { print e }' c.csv)
    # --val-model is the network the same run without --refit saves (the same curves too)
    train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o n.weights --epochs 8 --patience 2 \
        --lr 0.01 --curves c2.csv "$D/img.npy" > /dev/null
    cmp n.weights v.weights
    cmp c.csv c2.csv
    grep -qx 'refit=0' v.weights.cfg
    # the refit: best-epoch-count epochs over the 144 training and 48 validation rows, the rate
    # from 0.01 down along half a cosine (epoch e starts at 0.01 (1 + cos(pi (e-1) / best)) / 2)
    [ "$(grep -c 'refit epoch [0-9]*/' log)" -eq "$best" ]
    grep -q "best epoch $best of [0-9]* (val loss [0-9.]* acc [0-9.]*), refit on 192 train + val images;" log
    for e in $(seq 1 "$best"); do
        lr=$(awk -v e="$e" -v n="$best" 'BEGIN { printf "%.3g", 0.01 * (1 + cos(3.141592653589793 * (e - 1) / n)) / 2 }')
        grep -q "refit epoch $e/$best train loss .*, lr $lr$" log
    done
    ! cmp -s r.weights v.weights || false
    grep -qx 'refit=1' r.weights.cfg
    # the saved refit network predicts the test rows as at the end of training, and learnt the task
    train-cnn --predict --load r.weights --split "$D/split" "$D/img.npy" > pred-r.csv
    cmp test-r.csv pred-r.csv
    acc=$(accuracy "$D/split/test.csv" pred-r.csv)
    echo "refit test accuracy $acc"
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
    # refit=1 in the cfg instead of --refit: the same bytes; --no-refit overrides it
    sed 's/^flip=0$/flip=0\nrefit=1/' "$ROOT/pipelines/cnn-original.cfg" > rf.cfg
    train-cnn --cfg rf.cfg --split "$D/split" -o r2.weights --epochs 8 --patience 2 --lr 0.01 "$D/img.npy" > /dev/null
    cmp r.weights r2.weights
    train-cnn --cfg rf.cfg --no-refit --split "$D/split" -o n2.weights --epochs 8 --patience 2 --lr 0.01 "$D/img.npy" > /dev/null
    cmp n.weights n2.weights
    # --val-model may not be a device (nor share a file with -o: the next test)
    run train-cnn --split "$D/split" -o m.weights --val-model /dev/null "$D/img.npy"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--val-model /dev/null: the weights need a file"* ]]
    run train-cnn --predict --load r.weights --refit --split "$D/split" "$D/img.npy"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--val-model and --refit are for training, not --predict"* ]]
}

@test "train-cnn: class count and size come from the data (3 classes, 24x24)" {
    D3="$BATS_FILE_TMPDIR/three"
    make_cnn_data "$D3" 150 3 24
    train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split "$D3/split" -o m.weights --epochs 4 --patience 0 \
        "$D3/img.npy" > pred.csv
    [ "$(grep -c '^output=3$' m.weights.cfg)" -eq 1 ]
    cut -d, -f2 pred.csv | tail -n +2 | sort -u | grep -qv '^[012]$' && false
    awk -F, 'NR > 1 && ($3 < 0 || $3 > 1) { exit 1 }' pred.csv
}

@test "train-cnn --plain: Darknet's own kernels train the same network" {
    env -u FP_QUIET train-cnn --plain --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o m.weights \
        --epochs 1 --patience 0 --max-train 64 "$D/img.npy" > pred.csv 2> err.txt
    grep -q "plain Darknet kernels" err.txt
    [ "$(wc -l < pred.csv)" -eq 49 ]
}

@test "train-cnn: errors name what is wrong" {
    run train-cnn --cfg nosuch.cfg --split "$D/split" -o m.weights "$D/img.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"cannot open cfg nosuch.cfg"* ]]
    mkdir bad && cp "$D/split/"*.csv bad/ && echo "ghost,1" >> bad/val.csv
    run train-cnn --cfg "$ROOT/pipelines/cnn.cfg" --split bad -o m.weights "$D/img.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"image 'ghost' listed in bad/val.csv is not in $D/img.npy"* ]]
    run train-cnn --predict --load nosuch.weights --cfg "$ROOT/pipelines/cnn.cfg" "$D/img.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"cannot open weights nosuch.weights"* ]]
    sed '/^\[net\]$/a translate=70' "$ROOT/pipelines/cnn.cfg" > t70.cfg
    run train-cnn --cfg t70.cfg --split "$D/split" -o m.weights "$D/img.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"t70.cfg: [net] translate=70, expected 0..50"* ]]
    run train-cnn --split "$D/split" "$D/img.npy"
    [ "$status" -eq 2 ]
    [[ "$output" == *"-o/--model"* ]]
    [ ! -e m.weights ]
    # weights to a device: refused before training (MODEL.cfg could not sit beside them)
    run train-cnn --split "$D/split" -o /dev/null "$D/img.npy"
    [ "$status" -eq 2 ]
    [[ "$output" == *"-o /dev/null: the weights need a file"* ]]
}

@test "train-cnn --curves/--plot to FIFOs: written through, not replaced by a renamed file" {
    mkfifo c.csv p.png
    timeout 60 cat p.png > got.png &      # a test that fails, not one that hangs
    timeout 120 train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o m.weights \
        --epochs 1 --curves curves.csv --plot p.png "$D/img.npy" > /dev/null
    wait
    [ -p p.png ]
    [ "$(head -c 4 got.png | od -An -c | tr -d ' ')" = "211PNG" ]
    # the plot reads the curves back: with curves in a FIFO there is none, and a warning
    timeout 60 cat c.csv > got.csv &
    run timeout 120 train-cnn --cfg "$ROOT/pipelines/cnn-original.cfg" --split "$D/split" -o m.weights \
        --epochs 1 --curves c.csv --plot p2.png "$D/img.npy"
    wait
    [ "$status" -eq 0 ]
    [[ "$output" == *"--plot reads the curves back from --curves, and c.csv is not a file: no plot written"* ]]
    [ -p c.csv ]
    [ "$(head -1 got.csv)" = "epoch,train_loss,train_acc,val_loss,val_acc" ]
    [ ! -e p2.png ]
    [ -z "$(ls | grep '\.tmp\.')" ]
}

#!/usr/bin/env bats
# synth: the built-in dataset generator - AMLS layout, label ranges, noise share, determinism,
# refusing to overwrite, messy files with --defects, and that decode reads what it writes.

load helpers

# Two 200-image datasets made once for the whole file: a clean one and one with --defects
# (same seed, so the labels and the clean images are the same in both).
setup_file() {
    export DS="$BATS_FILE_TMPDIR/clean" DF="$BATS_FILE_TMPDIR/messy"
    export DF_ERR="$BATS_FILE_TMPDIR/messy.err"
    synth -n 200 --seed 5 "$DS"
    synth -n 200 --seed 5 --defects "$DF" 2> "$DF_ERR"
}

setup() { cd "$BATS_TEST_TMPDIR"; }

# Data rows of a CSV without the header.
rows() { tail -n +2 "$1/attribute_list.csv"; }
# Ids listed on stderr for one defect kind, one per line.
defect_ids() { sed -n "s/^synth: defects $1://p" "$DF_ERR" | tr ' ' '\n' | grep -v '^$' || true; }
# The label row of one id.
row_of() { grep "^$2," "$1/attribute_list.csv"; }
is_noise_row() { [[ "$1" == *",-1,-1,-1,-1,-1" ]]; }
# Succeeds when two files differ. (A bare negated cmp would never fail a Bats test: errexit
# ignores negated commands.)
differ() { ! cmp -s "$1" "$2"; }

@test "synth: --help prints usage on stdout and exits 0" {
    run synth --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Usage: synth"* ]]
    run synth -h
    [ "$status" -eq 0 ]
}

@test "synth: bad usage exits 2 with a reason" {
    run synth
    [ "$status" -eq 2 ]
    [[ "$output" == *"missing DIR"* ]]
    run synth --bogus x
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown option '--bogus'"* ]]
    run synth -n 0 x
    [ "$status" -eq 2 ]
    run synth -n ten x
    [ "$status" -eq 2 ]
    run synth --seed -3 x
    [ "$status" -eq 2 ]
    run synth --size 8 x
    [ "$status" -eq 2 ]
    run synth a b
    [ "$status" -eq 2 ]
    run synth -n 3 --defects x
    [ "$status" -eq 2 ]
    run synth -n
    [ "$status" -eq 2 ]
    [ ! -e x ]
}

@test "synth: AMLS layout - CSV header, ids 1..N unique and in order, one 256x256 RGB PNG each" {
    [ "$(head -n 1 "$DS/attribute_list.csv")" = "file_name,hair_color,eyeglasses,smiling,young,human" ]
    diff <(rows "$DS" | cut -d, -f1) <(seq 1 200)
    [ "$(ls "$DS/images" | wc -l)" -eq 200 ]
    diff <(ls "$DS/images" | sort -n) <(seq 1 200 | sed 's/$/.png/')
    run bash -c "file -b '$DS'/images/*.png | sort -u"
    [ "$output" = "PNG image data, 256 x 256, 8-bit/color RGB, non-interlaced" ]
}

@test "synth: every label is in range: hair -1..5, the binary labels -1 or 1" {
    run awk -F, 'NF != 6 || $2 !~ /^(-1|[0-5])$/ { bad++; next }
                 { for (i = 3; i <= 6; i++) if ($i != 1 && $i != -1) bad++ }
                 END { print bad + 0 }' <(rows "$DS")
    [ "$output" = "0" ]
}

@test "synth: noise is round(0.09 N) = 18 of 200 rows, all five labels -1" {
    noise=$(rows "$DS" | grep -c ',-1,-1,-1,-1,-1$')
    [ "$noise" -ge 14 ]
    [ "$noise" -le 22 ]
    [ "$noise" -eq 18 ]
    # and placed at random ids, not in a block
    first=$(rows "$DS" | grep ',-1,-1,-1,-1,-1$' | head -n 1 | cut -d, -f1)
    last=$(rows "$DS" | grep ',-1,-1,-1,-1,-1$' | tail -n 1 | cut -d, -f1)
    [ $((last - first)) -gt 100 ]
}

@test "synth: unknown hair (-1) only on faces, about 8% of them; every class and value occurs" {
    # a face with hair -1 (hat) always has some other label set to 1
    hats=$(rows "$DS" | awk -F, '$2 == -1 && ($3 == 1 || $4 == 1 || $5 == 1 || $6 == 1)' | wc -l)
    [ "$hats" -ge 3 ]
    [ "$hats" -le 35 ]
    # every hair class 0..5 appears on faces
    for h in 0 1 2 3 4 5; do rows "$DS" | cut -d, -f2 | grep -qx -- "$h"; done
    # each binary label takes both values among faces
    for col in 3 4 5 6; do
        for v in 1 -1; do
            rows "$DS" | grep -v ',-1,-1,-1,-1,-1$' | cut -d, -f$col | grep -qx -- "$v"
        done
    done
}

@test "synth: same seed gives byte-identical files, whatever the number of threads" {
    FP_THREADS=1 synth -n 200 --seed 5 again
    cmp "$DS/attribute_list.csv" again/attribute_list.csv
    for id in 1 2 50 117 200; do cmp "$DS/images/$id.png" "again/images/$id.png"; done
    diff -r "$DS" again
}

@test "synth: a different seed gives different labels and pixels" {
    synth -n 200 --seed 6 other
    differ "$DS/attribute_list.csv" other/attribute_list.csv
    differ "$DS/images/1.png" other/images/1.png
    differ "$DS/images/2.png" other/images/2.png
}

@test "synth: refuses to write over a dataset without --force; --force replaces it entirely" {
    synth -n 30 --seed 2 ds
    cp ds/attribute_list.csv saved.csv
    run synth -n 10 --seed 3 ds
    [ "$status" -eq 1 ]
    [[ "$output" == *"already holds a dataset"*"--force"* ]]
    cmp saved.csv ds/attribute_list.csv
    [ "$(ls ds/images | wc -l)" -eq 30 ]
    synth -n 10 --seed 3 --force ds
    [ "$(ls ds/images | wc -l)" -eq 10 ]
    [ "$(rows ds | wc -l)" -eq 10 ]
    [ -z "$(ls ds | grep tmp)" ]
}

@test "synth: a killed run leaves no attribute_list.csv, so it never looks complete" {
    synth -n 100000 big &
    pid=$!
    # kill it once it has written some images (poll: the machine may be busy)
    for _ in $(seq 1 300); do
        [ -n "$(ls big/images 2>/dev/null | head -n 3)" ] && break
        sleep 0.1
    done
    kill "$pid"
    wait "$pid" || true
    [ -d big/images ]
    [ ! -e big/attribute_list.csv ]
    run synth -n 10 big
    [ "$status" -eq 1 ]
}

@test "synth: one summary line on stderr unless quiet" {
    run env -u FP_QUIET "$BIN/synth" -n 12 s1
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^synth:\ wrote\ 12\ images\ \(1\ noise\)\ to\ s1\ in\ [0-9.]+\ s$ ]]
    run env -u FP_QUIET "$BIN/synth" -q -n 12 s2
    [ -z "$output" ]
}

@test "synth: --size sets the image side" {
    synth -n 3 --size 64 small
    run bash -c "file -b small/images/*.png | sort -u"
    [ "$output" = "PNG image data, 64 x 64, 8-bit/color RGB, non-interlaced" ]
}

@test "synth --defects: lists each kind on stderr; exactly one truncated file" {
    for kind in truncated jpeg rgba-opaque rgba-alpha grey; do
        grep -q "^synth: defects $kind: [0-9]" "$DF_ERR"
    done
    [ "$(defect_ids truncated | wc -l)" -eq 1 ]
    # no id is listed twice
    all=$(for k in truncated jpeg rgba-opaque rgba-alpha grey; do defect_ids $k; done)
    [ "$(echo "$all" | sort | uniq -d | wc -l)" -eq 0 ]
}

@test "synth --defects: the files are what the list says (magic bytes and PNG colour type)" {
    for id in $(defect_ids jpeg); do
        [ "$(head -c 3 "$DF/images/$id.png" | od -An -tx1 | tr -d ' ')" = "ffd8ff" ]
    done
    for id in $(defect_ids rgba-opaque) $(defect_ids rgba-alpha); do
        [[ "$(file -b "$DF/images/$id.png")" == "PNG image data, 256 x 256, 8-bit/color RGBA"* ]]
    done
    for id in $(defect_ids grey); do
        [[ "$(file -b "$DF/images/$id.png")" == "PNG image data, 256 x 256, 8-bit grayscale"* ]]
    done
    t=$(defect_ids truncated)
    [ "$(head -c 8 "$DF/images/$t.png" | od -An -tx1 | tr -d ' ')" = "89504e470d0a1a0a" ]
    [ "$(tail -c 8 "$DF/images/$t.png" | od -An -tx1 | tr -d ' ')" != "49454e44ae426082" ]
    [ "$(stat -c %s "$DF/images/$t.png")" -lt "$(stat -c %s "$DS/images/$t.png")" ]
}

@test "synth --defects: only the listed files change; labels are the same as without" {
    cmp "$DS/attribute_list.csv" "$DF/attribute_list.csv"
    listed=" $(for k in truncated jpeg rgba-opaque rgba-alpha grey; do defect_ids $k; done | tr '\n' ' ') "
    for id in $(seq 1 200); do
        if [[ "$listed" == *" $id "* ]]; then
            differ "$DS/images/$id.png" "$DF/images/$id.png"
        else
            cmp "$DS/images/$id.png" "$DF/images/$id.png"
        fi
    done
}

@test "synth --defects: every kind is spread over faces and noise; grey faces have colourless hair" {
    for kind in jpeg rgba-opaque rgba-alpha grey; do
        faces=0 noise=0
        for id in $(defect_ids $kind); do
            if is_noise_row "$(row_of "$DF" "$id")"; then noise=$((noise + 1)); else faces=$((faces + 1)); fi
        done
        echo "$kind: $faces faces, $noise noise"
        [ "$faces" -ge 1 ]
        [ "$noise" -ge 1 ]
    done
    for id in $(defect_ids grey); do
        hair=$(row_of "$DF" "$id" | cut -d, -f2)
        [[ " -1 0 4 5 " == *" $hair "* ]]
    done
}

@test "synth: decode reads the whole clean dataset" {
    run bash -c "decode --size 64 --labels '$DS/attribute_list.csv' '$DS/images' | mat info"
    [ "$status" -eq 0 ]
    [[ "$output" == *"200 rows x 64x64x3 u8"* ]]
}

@test "synth --defects: decode stops at the truncated file, and --skip-bad reads the other 199" {
    t=$(defect_ids truncated)
    run decode --size 64 --labels "$DF/attribute_list.csv" -o out.npy "$DF/images"
    [ "$status" -eq 1 ]
    [[ "$output" == *"$t.png"* ]]
    run bash -c "decode --skip-bad --size 64 --labels '$DF/attribute_list.csv' '$DF/images' | mat info"
    [ "$status" -eq 0 ]
    [[ "$output" == *"199 rows x 64x64x3 u8"* ]]
}

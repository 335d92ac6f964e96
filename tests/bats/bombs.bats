#!/usr/bin/env bats
# Resource bombs and the fuzz regressions (docs/reliability.md): hostile headers and fields
# are refused with a clear error, under an address-space cap that a stage allocating what
# the header claims would break (`capped`, helpers.bash), and every input the fuzzers ever
# crashed on is replayed through its harness.

load helpers

REPLAY="$ROOT/build/fuzz-replay"

setup() { cd "$BATS_TEST_TMPDIR"; }

# Seeds for the fuzzers, made once per file by the project's tools (tests/fuzz/seeds.sh).
seeds() {
    SEEDS="$BATS_FILE_TMPDIR/seeds"
    [ -f "$SEEDS/.done" ] || { "$ROOT/tests/fuzz/seeds.sh" "$SEEDS" && touch "$SEEDS/.done"; }
}

# put_be16 FILE OFFSET VALUE: overwrite two bytes, big-endian.
put_be16() {
    printf "$(printf '\\x%02x\\x%02x' $(( $3 >> 8 )) $(( $3 & 255 )))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# jpeg_claim SRC DST W H: a copy of SRC whose frame header (SOF0/SOF2) claims W x H.
jpeg_claim() {
    cp "$1" "$2"
    local off
    off=$(LC_ALL=C grep -obUaP '\xff[\xc0\xc2]' "$2" | head -1 | cut -d: -f1)
    put_be16 "$2" $((off + 5)) "$4"
    put_be16 "$2" $((off + 7)) "$3"
}

# npy OUT DICT: a .npy 1.0 stream with that header text and no rows.
npy() {
    local pad=$(( (10 + ${#2} + 1 + 63) / 64 * 64 - 10 - ${#2} - 1 ))
    local len=$(( ${#2} + pad + 1 ))
    { printf '\x93NUMPY\x01\x00'; printf "$(printf '\\x%02x\\x%02x' $((len & 255)) $((len >> 8)))"
      printf '%s%*s\n' "$2" "$pad" ''; } > "$1"
}

# ---------------------------------------------------------------- images

@test "bombs: a PNG header claiming 100000x100000 is refused within 200 MB" {
    make_test_images
    run capped 200000 "echo huge | decode --size 8 '$IMG'"
    [ "$status" -eq 1 ]
    [[ "$output" == *"huge.png: image of 100000x100000 pixels is beyond the limit (16384 per side, 67108864 pixels)"* ]]
}

@test "bombs: a JPEG header claiming 60000x60000 is refused within 200 MB" {
    seeds
    jpeg_claim "$SEEDS/image_jpeg/baseline420.jpg" wide.jpg 60000 60000
    run capped 200000 "echo wide | decode --size 8 ."
    [ "$status" -eq 1 ]
    [[ "$output" == *"wide.jpg: image of 60000x60000 pixels is beyond the limit"* ]]
}

@test "bombs: a 662-byte progressive JPEG claiming 16384x4096 fails on its missing data within 1 GB" {
    seeds
    jpeg_claim "$SEEDS/image_jpeg/progressive.jpg" big.jpg 16384 4096
    [ "$(stat -c %s big.jpg)" -eq "$(stat -c %s "$SEEDS/image_jpeg/progressive.jpg")" ]
    run capped 1000000 "echo big | decode --size 8 ."
    [ "$status" -eq 1 ]
    [[ "$output" == *"big.jpg: corrupt JPEG: Corrupt JPEG data: premature end of data segment"* ]]
}

@test "bombs: a progressive JPEG of 568 scans (legal, a CPU bomb when large) is refused" {
    seeds
    cp "$SEEDS/image_jpeg/scans568.jpg" .
    run decode --size 8 . <<< scans568
    [ "$status" -eq 1 ]
    [[ "$output" == *"scans568.jpg: corrupt JPEG: more than 500 scans"* ]]
    # the ordinary progressive seed (10 scans) decodes
    decode --size 4 "$SEEDS/image_jpeg" <<< progressive | mat info --rows > n.txt
    [ "$(cat n.txt)" = 1 ]
}

@test "bombs: an image file over 256 MiB is refused without reading it (sparse, within 100 MB)" {
    printf '\x89PNG\r\n\x1a\n' > big.png
    truncate -s 300M big.png
    run capped 100000 "echo big | decode --size 8 ."
    [ "$status" -eq 1 ]
    [[ "$output" == *"big.png: file of 314572800 bytes is beyond the limit of 268435456 bytes"* ]]
}

# ---------------------------------------------------------------- matrix streams

@test "bombs: a stream header declaring 10^9 rows: streaming stages stop at the real end within 100 MB" {
    npy rows.npy "{'descr': [('id', '|S4'), ('x', '<f4', (3,))], 'fortran_order': False, 'shape': (1000000000,), }"
    printf 'a\0\0\0\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40' >> rows.npy    # one row: a,1,2,3
    run capped 100000 "mat info rows.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"rows.npy: truncated stream: header declares 1000000000 rows, input ended inside row 2 (0 of 16 bytes)"* ]]
}

@test "bombs: a stream header declaring 10^9 rows: whole-matrix stages (pca) do not allocate for them" {
    npy rows.npy "{'descr': [('id', '|S4'), ('x', '<f4', (3,))], 'fortran_order': False, 'shape': (1000000000,), }"
    printf 'a\0\0\0\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40' >> rows.npy
    run capped 400000 "pca 2 rows.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"rows.npy: truncated stream: header declares 1000000000 rows, input ended inside row 2 (0 of 16 bytes)"* ]]
}

@test "bombs: 10^9 declared rows of 255-byte ids through a pipe: pca allocates for the rows present" {
    # one u8 value a row: buffers sized by the values alone would ask for 4 GiB of ids
    run capped 400000 "cat '$ROOT/tests/fuzz/regress/mat/wide-id-rows-1e9.npy' | pca 1"
    [ "$status" -eq 1 ]
    [[ "$output" == *"stdin: truncated stream: header declares 1000000000 rows, input ended inside row 3 (0 of 256 bytes)"* ]]
}

@test "bombs: a row shape whose product overflows 64 bits (2^32 x 2^32 x 1) is refused" {
    npy ovf.npy "{'descr': [('id', '|S4'), ('x', '|u1', (4294967296, 4294967296, 1))], 'fortran_order': False, 'shape': (1,), }"
    printf 'a\0\0\0' >> ovf.npy
    run capped 100000 "mat info ovf.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"ovf.npy: rows of 18446744073709551616 bytes are beyond the limit"* ]]
}

@test "bombs: a row shape of 2^30 u8 columns is refused before allocating its row" {
    npy cols.npy "{'descr': [('id', '|S4'), ('x', '|u1', (1073741824,))], 'fortran_order': False, 'shape': (1,), }"
    run capped 400000 "mat info cols.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"cols.npy: rows of 1073741824 values are beyond the limit"* ]]
}

# ---------------------------------------------------------------- CSV

# A CSV whose second line's second field is a million 'a's.
million_field_csv() {
    printf 'file_name,smiling\n1.png,'
    head -c 1000000 /dev/zero | tr '\0' a
    printf '\n'
}

@test "bombs: a million-character CSV field is refused within 100 MB (mat from-csv, decode --labels)" {
    million_field_csv > big.csv
    run capped 100000 "mat from-csv big.csv"
    [ "$status" -eq 1 ]
    [[ "$output" == *"big.csv:2: field 2 is longer than 65536 bytes"* ]]
    make_test_images
    run capped 100000 "decode --size 8 --labels big.csv '$IMG'"
    [ "$status" -eq 1 ]
    [[ "$output" == *"big.csv:2: field 2 is longer than 65536 bytes"* ]]
}

@test "bombs: a million-character quoted field spanning lines is refused, naming its first line" {
    { printf 'id,x\n"'; head -c 1000000 /dev/zero | tr '\0' '\n'; printf '",1\n'; } > lines.csv
    run capped 100000 "mat from-csv lines.csv"
    [ "$status" -eq 1 ]
    [[ "$output" == *"lines.csv:2: field 1 is longer than 65536 bytes"* ]]
}

@test "bombs: a 120 MB row of 60 KB fields is refused at 64 MiB within 250 MB" {
    run capped 250000 "f=\$(head -c 60000 /dev/zero | tr '\\0' b)
        { printf 'id'; for i in \$(seq 2000); do printf ',%s' \"\$f\"; done; printf '\\n'; } | mat from-csv"
    [ "$status" -eq 1 ]
    [[ "$output" == *"stdin:1: row is longer than 67108864 bytes (at field 1120)"* ]]
}

@test "bombs: a row of 300000 empty fields is refused at 262144 fields" {
    run bash -c "{ printf 'id'; head -c 300000 /dev/zero | tr '\\0' ,; printf '\\n'; } | mat from-csv"
    [ "$status" -eq 1 ]
    [[ "$output" == *"stdin:1: more than 262144 fields"* ]]
}

# ---------------------------------------------------------------- fuzz regressions

@test "fuzz regressions: every saved crash input and every seed runs clean through its harness" {
    seeds
    run "$REPLAY/replay-image" "$ROOT/tests/fuzz/regress/image" "$SEEDS/image_png" "$SEEDS/image_jpeg"
    [ "$status" -eq 0 ]
    [[ "$output" == *"replay: "*" inputs, 0 crashes" ]]
    n=$(find "$ROOT/tests/fuzz/regress/image" "$SEEDS/image_png" "$SEEDS/image_jpeg" -maxdepth 1 \
        -type f ! -name '.*' | wc -l)
    [ "$n" -ge 30 ]
    [ "$output" = "replay: $n inputs, 0 crashes" ]
    run "$REPLAY/replay-mat" "$ROOT/tests/fuzz/regress/mat" "$SEEDS/mat"
    [ "$status" -eq 0 ]
    [[ "$output" == "replay: "*" inputs, 0 crashes" ]]
    run "$REPLAY/replay-csv" "$ROOT/tests/fuzz/regress/csv" "$SEEDS/csv"
    [ "$status" -eq 0 ]
    [[ "$output" == "replay: "*" inputs, 0 crashes" ]]
}

@test "fuzz harnesses: a seed decodes, a refusal says why and leaves nothing open" {
    seeds
    FZ_VERBOSE=1 run "$REPLAY/replay-image" "$SEEDS/image_jpeg/progressive.jpg" "$SEEDS/image_png/huge.png"
    [ "$status" -eq 0 ]
    [[ "$output" == *"decoded 16x12"* ]]
    [[ "$output" == *"refused: image of 100000x100000 pixels is beyond the limit"* ]]
    # the same truncated stream 3000 times: die() longjmps out of the reader each time, and
    # without the harness's tracking the FILEs left open would exceed a 256-descriptor limit
    (ulimit -n 256 && "$REPLAY/replay-mat" $(yes "$SEEDS/mat/truncated.npy" | head -3000)) > out.txt
    [ "$(cat out.txt)" = "replay: 3000 inputs, 0 crashes" ]
}

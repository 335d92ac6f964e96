#!/usr/bin/env bats
# decode: every PNG colour type, JPEG named .png, broken files, resizing, ordering, threads.

load helpers

setup() { make_test_images; cd "$BATS_TEST_TMPDIR"; }

@test "decode: every PNG colour type and depth gives the exact expected RGB pixels" {
    good_ids | decode --size 8 "$IMG" | mat to-csv > got.csv
    # 12 images + header; compare row by row with the generator's truth
    [ "$(wc -l < got.csv)" -eq 13 ]
    diff <(sort got.csv) <(sort "$IMG/expected.csv")
}

@test "decode: a JPEG named .png is sniffed and decoded (uniform 200,120,40 within JPEG error)" {
    echo jpeg_named | decode --size 4 "$IMG" | mat to-csv > got.csv
    run awk -F, 'NR==2 { bad=0; for (i=2; i<=NF; i+=3) { if ($i<196||$i>204||$(i+1)<116||$(i+1)>124||$(i+2)<36||$(i+2)>44) bad++ } print bad }' got.csv
    [ "$output" = "0" ]
}

@test "decode: truncated PNG is an error naming the file" {
    run decode --size 8 "$IMG" <<< truncated
    [ "$status" -eq 1 ]
    [[ "$output" == *"truncated.png: corrupt PNG: file ends early"* ]]
}

@test "decode: truncated JPEG is an error, not a half-grey image" {
    run decode --size 8 "$IMG" <<< truncated_jpeg
    [ "$status" -eq 1 ]
    [[ "$output" == *"truncated_jpeg.png: corrupt JPEG: Premature end of JPEG file"* ]]
}

@test "decode: empty file and non-image file are errors naming the file" {
    run decode --size 8 "$IMG" <<< empty
    [ "$status" -eq 1 ]
    [[ "$output" == *"empty.png: empty file"* ]]
    run decode --size 8 "$IMG" <<< text
    [ "$status" -eq 1 ]
    [[ "$output" == *"text.png: not a PNG or JPEG image (first bytes 7468697320697320)"* ]]
}

@test "decode: a PNG header claiming 100000x100000 is refused before allocating" {
    run decode --size 8 "$IMG" <<< huge
    [ "$status" -eq 1 ]
    [[ "$output" == *"huge.png: image of 100000x100000 pixels is beyond the limit"* ]]
}

@test "decode: a failing decode leaves a stream the reader rejects, and -o leaves no file" {
    printf 'rgb8\ntruncated\n' | decode --size 8 "$IMG" > out.npy || true
    run mat info out.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"out.npy: truncated stream: header declares 2 rows, input ended inside row 2 (0 of 208 bytes)"* ]]
    # nothing at all when the very first image fails
    decode --size 8 "$IMG" <<< truncated > empty.npy || true
    [ ! -s empty.npy ]
    run decode --size 8 -o out2.npy "$IMG" <<< truncated
    [ "$status" -eq 1 ]
    [ ! -e out2.npy ]
    [ -z "$(ls | grep tmp)" ]
}

@test "decode: missing image is an error naming the path" {
    run decode --size 8 "$IMG" <<< nosuchimage
    [ "$status" -eq 1 ]
    [[ "$output" == *"nosuchimage.png: cannot open: No such file or directory"* ]]
}

@test "decode --skip-bad: lists each bad file, keeps the good ones in order" {
    printf 'rgb8\ntruncated\nempty\ngrey8\nhuge\n' | decode --skip-bad --size 8 "$IMG" > out.npy 2> err.txt
    run mat ids out.npy
    [ "$output" = "$(printf 'rgb8\ngrey8')" ]
    [ "$(grep -c skipping err.txt)" -eq 3 ]
    grep -q "skipping $IMG/truncated.png" err.txt
    grep -q "skipped 3 bad image(s) of 5" err.txt
}

@test "decode --labels: one row per CSV row, in CSV order, ids from file_name" {
    printf 'file_name,smiling\r\ngrey8,1\r\nrgb8,-1\r\njpeg_named,1\r\n' > labels.csv
    decode --size 8 --labels labels.csv "$IMG" > out.npy
    run mat ids out.npy
    [ "$output" = "$(printf 'grey8\nrgb8\njpeg_named')" ]
    run mat info --rows out.npy
    [ "$output" = 3 ]
}

@test "decode --all: every file of a directory in natural order" {
    mkdir d
    for i in 10 2 1; do cp "$IMG/rgb8.png" d/$i.png; done
    decode --all --size 4 d > out.npy
    run mat ids out.npy
    [ "$output" = "$(printf '1\n2\n10')" ]
}

@test "decode: area resize averages exactly (8x8 -> 4x4 = mean of 2x2 blocks, rounded)" {
    echo rgb8 | decode --size 8 "$IMG" | mat to-csv | tail -1 > full.csv
    echo rgb8 | decode --size 4 "$IMG" | mat to-csv | tail -1 > small.csv
    run awk -F, -v full="$(cat full.csv)" 'BEGIN { n = split(full, f, ",") }
        { bad = 0
          for (y = 0; y < 4; y++) for (x = 0; x < 4; x++) for (c = 0; c < 3; c++) {
            s = 0
            for (dy = 0; dy < 2; dy++) for (dx = 0; dx < 2; dx++) s += f[2 + ((2*y+dy)*8 + 2*x+dx)*3 + c]
            want = int(s / 4 + 0.5); got = $(2 + (y*4 + x)*3 + c)
            if (want != got) bad++
          }
          print bad }' small.csv
    [ "$output" = "0" ]
}

@test "decode: output is identical with 1 and 2 threads and across runs" {
    mkdir d
    for i in $(seq 1 70); do cp "$IMG/$(good_ids | sed -n "$(( i % 12 + 1 ))p").png" d/$i.png; done
    decode --all --size 6 -j 1 d > a.npy
    decode --all --size 6 -j 2 d > b.npy
    decode --all --size 6 -o c.npy d
    cmp a.npy b.npy
    cmp a.npy c.npy
}

@test "decode: duplicate ids are refused" {
    run decode --size 8 "$IMG" <<< "$(printf 'rgb8\nrgb8')"
    [ "$status" -eq 1 ]
    [[ "$output" == *"duplicate image id 'rgb8'"* ]]
}

@test "decode: usage errors exit 2, --help exits 0" {
    run decode --size 0 "$IMG"
    [ "$status" -eq 2 ]
    run decode --bogus
    [ "$status" -eq 2 ]
    run decode --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:* ]]
    run decode --labels x.csv
    [ "$status" -eq 2 ]
}

@test "decode: output loads in NumPy-compatible layout (header readable with head -c)" {
    echo rgb8 | decode --size 8 "$IMG" > out.npy
    run head -c 128 out.npy
    [[ "$output" == *"NUMPY"*"{'descr': [('id', '|S8'), ('x', '|u1', (8, 8, 3))], 'fortran_order': False, 'shape': (1,), }"* ]]
    # header length is a multiple of 64 and the row follows: 128 + 8 + 192 bytes
    [ "$(stat -c %s out.npy)" -eq $((128 + 8 + 192)) ]
}

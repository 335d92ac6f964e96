#!/usr/bin/env bats
# extract-features: hand-crafted features on images with known answers, raw pixels, errors.

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

# A stream of two 8x8 uniform images: white and a skin tone (224,172,140), ids w and s.
uniform_images() {
    awk 'BEGIN { printf "id"; for (i = 0; i < 192; i++) printf ",x%d", i; print ""
                 printf "w";   for (i = 0; i < 64; i++) printf ",255,255,255"; print ""
                 printf "s";   for (i = 0; i < 64; i++) printf ",224,172,140"; print "" }' |
        mat from-csv --type u8 --shape 8x8x3
}

col() { # col FILE ROW(1-based) COLUMN(0-based feature index)
    mat to-csv "$1" | awk -F, -v r="$2" -v c="$3" 'NR == r + 1 { print $(c + 2) }'
}

@test "extract-features: known values on uniform images (layout of docs/extract-features.md)" {
    uniform_images | extract-features > f.npy
    run mat info f.npy
    [[ "$output" == "f.npy: 2 rows x 824 f32"* ]]
    # white: value histogram all in the top bin (20+7), white fraction 1, no edges, no skin
    [ "$(col f.npy 1 27)" = 1 ]
    [ "$(col f.npy 1 37)" = 1 ]
    [ "$(col f.npy 1 34)" = 0 ]
    [ "$(col f.npy 1 35)" = 0 ]
    # skin tone: skin fraction 1 everywhere (whole, centre, every grid cell), mean R = 224/255
    [ "$(col f.npy 2 35)" = 1 ]
    [ "$(col f.npy 2 36)" = 1 ]
    [ "$(col f.npy 2 760)" = 1 ]
    [ "$(col f.npy 2 823)" = 1 ]
    [ "$(col f.npy 2 28)" = 0.87843138 ]
    # flat images have an all-zero HOG
    run sh -c "mat to-csv f.npy | awk -F, 'NR > 1 { for (i = 42; i <= 761; i++) s += \$i } END { print s }'"
    [ "$output" = 0 ]
}

@test "extract-features: HOG responds to a vertical edge in the right cell and orientation" {
    # 64x64: left half black, right half white -> gradient along x (orientation bin 0)
    awk 'BEGIN { printf "id"; for (i = 0; i < 64*64*3; i++) printf ",x%d", i; print ""
                 printf "e"; for (y = 0; y < 64; y++) for (x = 0; x < 64; x++) { v = x < 32 ? 0 : 255; printf ",%d,%d,%d", v, v, v }; print "" }' |
        mat from-csv --type u8 --shape 64x64x3 | extract-features > f.npy
    # 4x4 HOG: cell (row 0, col 1) holds x = 16..31, whose last column borders the edge
    # -> bin 0 positive; cell (0, 0) has no gradient
    run sh -c "mat to-csv f.npy | awk -F, 'NR == 2 { print (\$(40 + 9 + 2) > 0.5), (\$(40 + 2) == 0), (\$(40 + 9 + 1 + 2) == 0) }'"
    [ "$output" = "1 1 1" ]
}

@test "extract-features --method raw: pixels as they are, resized, or grey" {
    uniform_images | extract-features --method raw > r.npy
    run mat info r.npy
    [[ "$output" == "r.npy: 2 rows x 192 u8"* ]]
    [ "$(col r.npy 2 0)" = 224 ]
    uniform_images | extract-features --method raw --size 4 --gray > g.npy
    run mat info --rows g.npy
    [ "$output" = 2 ]
    [ "$(mat to-csv g.npy | head -1 | tr ',' '\n' | wc -l)" -eq 17 ]
    # BT.601 luma of (224,172,140): (299*224 + 587*172 + 114*140 + 500) / 1000 = 184
    [ "$(col g.npy 2 5)" = 184 ]
}

@test "extract-features: same output with 1 and 2 threads, ids preserved" {
    awk 'BEGIN { srand(7); printf "id"; for (i = 0; i < 16*16*3; i++) printf ",x%d", i; print ""
                 for (r = 0; r < 150; r++) { printf "img%d", r; for (i = 0; i < 16*16*3; i++) printf ",%d", int(rand()*256); print "" } }' |
        mat from-csv --type u8 --shape 16x16x3 > imgs.npy
    extract-features -j 1 imgs.npy > a.npy
    extract-features -j 2 imgs.npy > b.npy
    cmp a.npy b.npy
    [ "$(mat ids a.npy | sed -n 150p)" = img149 ]
}

@test "extract-features: a feature stream instead of images is a clear error" {
    printf 'id,x0,x1\na,1,2\n' | mat from-csv > v.npy
    run extract-features v.npy
    [ "$status" -eq 1 ]
    [[ "$output" == *"v.npy: expected image rows (height x width x channels, u8) as written by decode, found 1 rows x 2 f32"* ]]
    run extract-features --method bogus v.npy
    [ "$status" -eq 2 ]
}

@test "extract-features --cfg: CNN codes of a Darknet network, one row per image, ids kept" {
    awk 'BEGIN { srand(3); printf "id"; for (i = 0; i < 16*16*3; i++) printf ",x%d", i; print ""
                 for (r = 0; r < 5; r++) { printf "im%d", r; for (i = 0; i < 16*16*3; i++) printf ",%d", int(rand()*256); print "" } }' |
        mat from-csv --type u8 --shape 16x16x3 > imgs.npy
    # the 512-unit dense layer of the project's CNN (third layer from the end, after dropout)
    extract-features --cfg "$ROOT/pipelines/cnn.cfg" --layer -3 imgs.npy > codes.npy
    run mat info codes.npy
    [[ "$output" == "codes.npy: 5 rows x 512 f32"* ]]
    [ "$(mat ids codes.npy | tail -1)" = im4 ]
    # the same seed and input give the same codes
    extract-features --cfg "$ROOT/pipelines/cnn.cfg" --layer -3 imgs.npy | cmp - codes.npy
    run extract-features --cfg /nonexistent.cfg imgs.npy
    [ "$status" -eq 1 ]
}

# Shared set-up for the Bats suite: absolute paths to the built binaries and a scratch dir.
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BIN="$ROOT/bin"
TOOLS="$ROOT/build/tools"
export PATH="$BIN:$PATH"
export FP_QUIET=1

# Test images with known pixels (tests/tools/mkimages.c), made once per file.
make_test_images() {
    IMG="$BATS_FILE_TMPDIR/img"
    if [ ! -f "$IMG/expected.csv" ]; then
        mkdir -p "$IMG"
        "$TOOLS/mkimages" "$IMG"
    fi
}

# Good lossless images (ids without extension).
good_ids() {
    printf '%s\n' rgb8 rgba8 grey8 grey1 grey2 grey4 greyalpha8 palette_trns rgb16 rgba16 grey16 rgb8_interlaced
}

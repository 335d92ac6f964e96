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

# True when the binaries are built with AddressSanitizer (make check-asan): ASan reserves
# terabytes of address space for its shadow, so an address-space cap cannot apply there.
sanitized() {
    ldd "$BIN/mat" 2>/dev/null | grep -q libasan
}

# capped KB CMD...: runs CMD (a shell command line) with its address space capped at KB
# kilobytes (`ulimit -v`), so a stage that tried to allocate more would fail with "out of
# memory" instead of passing. OpenBLAS is held to one thread (its per-thread buffers would
# need a larger cap). Under the sanitizers the command runs uncapped: same messages, same
# exit codes, no memory claim.
capped() {
    local kb="$1"
    shift
    if sanitized; then
        OPENBLAS_NUM_THREADS=1 bash -c "$*"
    else
        (ulimit -v "$kb" && OPENBLAS_NUM_THREADS=1 exec bash -c "$*")
    fi
}

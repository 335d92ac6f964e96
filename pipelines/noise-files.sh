#!/usr/bin/env bash
# noise-files.sh move|restore DATA [NOISE_CSV]
#   move:    move the images listed in NOISE_CSV (file_name column) from DATA/images to
#            DATA/removed, and record them in DATA/removed/MOVED.csv
#   restore: move every image listed in DATA/removed/MOVED.csv back to DATA/images
# Never overwrites: an image present on both sides stops the script before anything is
# moved. Safe to interrupt (even kill -9) at any moment and run again: an image is recorded
# in MOVED.csv *before* it is moved, so MOVED.csv always lists every image in removed/; a
# listed image still (or already back) in images/ and absent from removed/ is simply done.
set -euo pipefail
mode=${1:?usage: noise-files.sh move|restore DATA [NOISE_CSV]}
data=${2:?usage: noise-files.sh move|restore DATA [NOISE_CSV]}
images="$data/images" removed="$data/removed"
moved="$removed/MOVED.csv"

find_image() { # id -> file name in images/, or nothing
    local id=$1 e
    for e in "" .png .jpg .jpeg .PNG .JPG .JPEG; do
        if [ -f "$images/$id$e" ]; then echo "$id$e"; return; fi
    done
}

listed() { # id,file -> is that line in MOVED.csv?
    [ -f "$moved" ] && grep -qxF "$1" "$moved"
}

case $mode in
move)
    noise=${3:?move needs NOISE_CSV}
    mkdir -p "$removed"
    plan=$(mktemp)
    trap 'rm -f "$plan"' EXIT
    tail -n +2 "$noise" | cut -d, -f1 | while read -r id; do
        f=$(find_image "$id")
        if [ -z "$f" ]; then
            grep -q "^$id," "$moved" 2>/dev/null && continue   # moved before
            echo "noise-files: $images has no image for id '$id'" >&2; exit 1
        fi
        if [ -e "$removed/$f" ]; then echo "noise-files: $removed/$f already exists; not overwriting" >&2; exit 1; fi
        echo "$id,$f"
    done > "$plan"
    [ -f "$moved" ] || echo "file_name,file" > "$moved"
    n=0
    while IFS=, read -r id f; do
        listed "$id,$f" || echo "$id,$f" >> "$moved"    # recorded first, then moved
        mv -n "$images/$f" "$removed/$f"
        n=$((n + 1))
    done < "$plan"
    echo "noise-files: moved $n image(s) to $removed (undo: make filter-restore)" >&2
    ;;
restore)
    [ -f "$moved" ] || { echo "noise-files: nothing to restore ($moved missing)" >&2; exit 0; }
    tail -n +2 "$moved" | while IFS=, read -r id f; do
        if [ -e "$images/$f" ] && [ -e "$removed/$f" ]; then
            echo "noise-files: $images/$f exists; not overwriting (nothing restored)" >&2; exit 1
        fi
        if [ ! -e "$images/$f" ] && [ ! -e "$removed/$f" ]; then
            echo "noise-files: $removed/$f is missing" >&2; exit 1
        fi
    done
    n=0
    while IFS=, read -r id f; do
        [ -e "$removed/$f" ] || continue          # never moved, or restored by a run cut short
        mv -n "$removed/$f" "$images/$f"
        n=$((n + 1))
    done < <(tail -n +2 "$moved")
    rm "$moved"
    rmdir "$removed" 2>/dev/null || true
    echo "noise-files: restored $n image(s) to $images" >&2
    ;;
*) echo "usage: noise-files.sh move|restore DATA [NOISE_CSV]" >&2; exit 2 ;;
esac

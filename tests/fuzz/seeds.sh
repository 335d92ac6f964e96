#!/usr/bin/env bash
# seeds.sh - writes the fuzz seed corpus: OUT/image_png, OUT/image_jpeg, OUT/mat, OUT/csv.
# Small valid (and a few deliberately broken) inputs made by the project's own tools, so the
# seeds need nothing beyond a build: `make fuzz` and tests/bats/bombs.bats both call this.
#
# Usage: tests/fuzz/seeds.sh OUT    (bin/ and build/ of the tree this script is in are used;
#        FP_BUILD overrides build/, e.g. for a sanitizer build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/bin"
build="${FP_BUILD:-$root/build}"
out="$1"
mkdir -p "$out/image_png" "$out/image_jpeg" "$out/mat" "$out/csv"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export FP_QUIET=1 PATH="$bin:$PATH"

# ---- images: every PNG colour type and depth, the broken files, every JPEG coding
mkdir -p "$tmp/img"
"$build/tools/mkimages" "$tmp/img"
for f in "$tmp"/img/*.png; do
    # sorted by content, not name: mkimages writes a JPEG under a .png name
    case "$(head -c 3 "$f" | od -An -tx1 | tr -d ' ')" in
        ffd8ff) cp "$f" "$out/image_jpeg/$(basename "$f" .png).jpg" ;;
        *) cp "$f" "$out/image_png/" ;;
    esac
done
"$build/fuzz-replay/mkseeds" "$out/image_jpeg"

# ---- matrix streams: every element type, image rows, a plain NumPy array, truncated
printf 'id,a,b,c\nx1,1,2,3\nlonger_id_2,-4.5,5e10,0\nz,7,8,9\n' > "$tmp/m.csv"
mat from-csv "$tmp/m.csv" > "$out/mat/f32.npy"
for t in u8 i32 f64; do mat convert --type "$t" "$out/mat/f32.npy" > "$out/mat/$t.npy"; done
mat to-npy "$out/mat/f32.npy" > "$out/mat/plain.npy"
printf 'id,a\n' | mat from-csv > "$out/mat/empty.npy"
printf 'rgb8\ngrey8\n' | decode --size 4 "$tmp/img" > "$out/mat/images.npy"
head -c 150 "$out/mat/f64.npy" > "$out/mat/truncated.npy"

# ---- CSV: a labels table (CRLF), quoting with embedded separators and newlines, blanks
printf 'file_name,smiling,young\r\n1.png,1,-1\r\n2.png,-1,1\r\n' > "$out/csv/labels.csv"
printf 'a,"b,c","say ""hi""","two\nlines"\n\n"",x,,\n' > "$out/csv/quoted.csv"
printf 'id,x0,x1\nr1,0.5,-1e-3\nr2,NaN,inf\n' > "$out/csv/numbers.csv"
printf 'no newline at the end' > "$out/csv/noeol.csv"
printf 'a,"unterminated\n' > "$out/csv/unterminated.csv"

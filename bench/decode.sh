#!/usr/bin/env bash
# bench/decode.sh - decode throughput vs Pillow (Debian python3-pil), same files, one run.
# Also checks that our pixels equal Pillow's open+convert('RGB')+resize(BOX) within 1 level.
#   bench/decode.sh [DATA_DIR] [SIZE]      (default ../shared/data/amls-dev, 128)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/amls-dev}
SIZE=${2:-128}
PY=/usr/bin/python3
[ -d "$DATA/images" ] || { echo "bench/decode.sh: no $DATA/images" >&2; exit 1; }
$PY -c 'import PIL, numpy' 2>/dev/null || { echo "bench/decode.sh: needs python3-pil and python3-numpy (apt-get install python3-pil python3-numpy)" >&2; exit 1; }
make -s build
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=$(($(wc -l < "$DATA/attribute_list.csv") - 1))

# Warm the page cache so both sides read from memory.
cat "$DATA"/images/* > /dev/null

t0=$(date +%s.%N)
FP_QUIET=1 bin/decode --size "$SIZE" --labels "$DATA/attribute_list.csv" "$DATA/images" > "$tmp/ours.npy"
t1=$(date +%s.%N)
FP_QUIET=1 FP_THREADS=1 bin/decode --size "$SIZE" --labels "$DATA/attribute_list.csv" "$DATA/images" > "$tmp/ours1.npy"
t2=$(date +%s.%N)
pil=$($PY - "$DATA" "$SIZE" "$tmp/ours.npy" <<'PYEOF'
import csv, sys, time
import numpy as np
from PIL import Image
d, size, ours = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ids = [r["file_name"] for r in csv.DictReader(open(d + "/attribute_list.csv"))]
t = time.time()
rows = []
for i in ids:
    im = Image.open(f"{d}/images/{i}.png").convert("RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BOX)
    rows.append(np.asarray(im))
el = time.time() - t
a = np.load(ours)
assert len(a) == len(ids) and [x.decode() for x in a["id"]] == ids
diff = max(int(np.abs(a["x"][k].astype(int) - r.astype(int)).max()) for k, r in enumerate(rows))
print(f"{el:.3f} {diff}")
PYEOF
)
pil_s=${pil% *}; maxdiff=${pil#* }
awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v p="$pil_s" -v d="$maxdiff" -v s="$SIZE" 'BEGIN {
  ours = n / (b - a); ours1 = n / (c - b); pil = n / p
  printf "decode %dx%d, %d images\n", s, s, n
  printf "  facepipe decode (2 threads): %7.0f images/s\n", ours
  printf "  facepipe decode (1 thread):  %7.0f images/s\n", ours1
  printf "  Pillow (1 process):          %7.0f images/s\n", pil
  printf "  ratio ours/Pillow: %.2fx (1 thread: %.2fx); max pixel difference vs Pillow: %d\n", ours / pil, ours1 / pil, d
}'

#!/usr/bin/python3
"""sklearn side of bench/tsne.sh: TSNE (barnes_hut) of a matrix stream, timed.

usage: sk_tsne.py X.npy OUT.npy [PERPLEXITY] [ITER]
Writes the embedding as a plain .npy and prints key=value lines. Debian's /usr/bin/python3.
"""
import sys
import time

import numpy as np
from sklearn.manifold import TSNE


def main():
    path, out = sys.argv[1], sys.argv[2]
    perplexity = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    n_iter = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    a = np.load(path)
    X = (a["x"] if a.dtype.names else a).reshape(len(a), -1).astype(np.float64)
    t = TSNE(n_components=2, perplexity=perplexity, n_iter=n_iter, method="barnes_hut",
             angle=0.5, init="pca", learning_rate="auto", random_state=1)
    t0, c0 = time.perf_counter(), time.process_time()
    Y = t.fit_transform(X)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(out, Y)
    print(f"sklearn_seconds={wall:.2f}")
    print(f"sklearn_cpu_seconds={cpu:.2f}")
    print(f"sklearn_kl={t.kl_divergence_:.4f}")


if __name__ == "__main__":
    main()

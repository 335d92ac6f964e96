#!/usr/bin/python3
"""sklearn side of bench/pca.sh: PCA of a matrix stream, timed, and compared with our
explained variances (a `pca --report` CSV).

usage: sk_pca.py X.npy K OURS_REPORT.csv
Prints one `key=value` line per figure. Run with /usr/bin/python3 (Debian's python3-sklearn).
"""
import sys
import time

import numpy as np
from sklearn.decomposition import PCA


def best_of(n, fn):
    """Best wall time and best CPU time (all threads) of n calls, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus), out


def main():
    path, k, report = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    a = np.load(path)
    X = a["x"] if a.dtype.names else a          # float32 as stored in the stream
    X = X.reshape(len(X), -1)
    ours = np.loadtxt(report, delimiter=",", skiprows=1, ndmin=2)
    ours_var, ours_ratio = ours[:, 1], ours[:, 2]

    def fit(solver, data):
        p = PCA(n_components=k, svd_solver=solver, random_state=1)
        p.fit_transform(data)
        return p

    t_auto, c_auto, p_auto = best_of(3, lambda: fit("auto", X))
    # exact reference in float64 (LAPACK SVD of the whole matrix)
    t_full, c_full, p_full = best_of(1, lambda: fit("full", X.astype(np.float64)))
    print(f"sklearn_solver={p_auto._fit_svd_solver}")
    print(f"sklearn_seconds={t_auto:.3f}")
    print(f"sklearn_cpu_seconds={c_auto:.3f}")
    print(f"sklearn_full_f64_seconds={t_full:.3f}")
    rel = lambda a, b: float(np.max(np.abs(a - b) / np.abs(b)))
    print(f"sklearn_explained_ratio_sum={p_auto.explained_variance_ratio_.sum():.6f}")
    print(f"ours_explained_ratio_sum={ours_ratio.sum():.6f}")
    print(f"maxrel_var_ours_vs_sklearn={rel(ours_var, p_auto.explained_variance_):.3g}")
    print(f"maxrel_var_ours_vs_exact={rel(ours_var, p_full.explained_variance_):.3g}")
    print(f"maxrel_var_sklearn_vs_exact={rel(p_auto.explained_variance_, p_full.explained_variance_):.3g}")
    print(f"maxabs_ratio_ours_vs_sklearn={float(np.max(np.abs(ours_ratio - p_auto.explained_variance_ratio_))):.3g}")


if __name__ == "__main__":
    main()

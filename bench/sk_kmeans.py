#!/usr/bin/python3
"""sklearn side of bench/kmeans.sh: the elbow k = KMIN..KMAX with KMeans(n_init), timed,
compared with our `kmeans --elbow` CSV.

usage: sk_kmeans.py X.npy KMIN KMAX N_INIT OURS_ELBOW.csv
"""
import sys
import time

import numpy as np
from sklearn.cluster import KMeans


def main():
    path, kmin, kmax, n_init, ours_csv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    a = np.load(path)
    X = (a["x"] if a.dtype.names else a).reshape(len(a), -1).astype(np.float64)
    ours = dict(np.loadtxt(ours_csv, delimiter=",", skiprows=1, ndmin=2))
    t0, c0 = time.perf_counter(), time.process_time()
    inertia = {}
    for k in range(kmin, kmax + 1):
        inertia[k] = KMeans(n_clusters=k, n_init=n_init, random_state=1).fit(X).inertia_
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"sklearn_seconds={wall:.2f}")
    print(f"sklearn_cpu_seconds={cpu:.2f}")
    print("k,ours,sklearn,ours/sklearn")
    worst = 0.0
    for k in range(kmin, kmax + 1):
        r = ours[k] / inertia[k]
        worst = max(worst, r)
        print(f"{k},{ours[k]:.6g},{inertia[k]:.6g},{r:.5f}")
    print(f"max_inertia_ratio_ours_over_sklearn={worst:.5f}")
    print(f"sum_inertia_ratio={sum(ours.values()) / sum(inertia.values()):.5f}")


if __name__ == "__main__":
    main()

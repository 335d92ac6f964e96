#!/usr/bin/python3
"""sklearn side of bench/pca.sh. Run with /usr/bin/python3 (Debian's python3-sklearn).

  sk_pca.py run X.npy K OUT.npy [--standardize]
      what `pca K [--standardize] X.npy > OUT.npy` does: load the stream, fit_transform
      (StandardScaler then PCA with --standardize), save the scores. Prints the first
      fit_transform call's wall and CPU seconds (cold: this process's first use of those
      buffers and of OpenBLAS, as for pca). bench/pca.sh times the whole process around it.
  sk_pca.py compare X.npy K OURS_REPORTS [--standardize] [--seeds S]
      best of 3 fit_transform calls in one process (warm), and the explained variances of
      sklearn and of ours against an exact float64 reference (the eigenvalues of the
      covariance), for seeds 1..S (default 1): OURS_REPORTS is the `pca --report` CSV path
      with %d for the seed, sklearn runs with random_state = seed. Both solvers are
      randomized, so their errors vary with the seed; the figures are means over the seeds.
Prints `key=value` lines. PCA(n_components=K, svd_solver='auto') picks the randomized solver
for these shapes, with n_oversamples=10 and 7 power iterations (LU-normalised), float32
throughout.
"""
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path):
    a = np.load(path)
    X = a["x"] if a.dtype.names else a          # float32 as stored in the stream
    return X.reshape(len(X), -1)


def model(k, standardize, seed=1):
    pca = PCA(n_components=k, svd_solver="auto", random_state=seed)
    return make_pipeline(StandardScaler(), pca) if standardize else pca


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def run(path, k, out, standardize):
    X = load(path)
    m = model(k, standardize)
    wall, cpu, Y = timed(lambda: m.fit_transform(X))
    np.save(out, Y)
    print(f"fit_seconds={wall:.3f}")
    print(f"fit_cpu_seconds={cpu:.3f}")


def compare(path, k, reports, standardize, seeds):
    X = load(path)
    walls, cpus = [], []
    for _ in range(3):
        m = model(k, standardize)
        w, c, _ = timed(lambda: m.fit_transform(X))
        walls.append(w)
        cpus.append(c)
    pca = m[-1] if standardize else m
    print(f"sklearn_solver={pca._fit_svd_solver}")
    print(f"sklearn_warm_seconds={min(walls):.3f}")
    print(f"sklearn_warm_cpu_seconds={min(cpus):.3f}")
    # exact reference: eigenvalues of the float64 covariance (ddof 1, as explained_variance_)
    X64 = X.astype(np.float64)
    X64 -= X64.mean(axis=0)
    if standardize:
        sd = X64.std(axis=0)
        X64 /= np.where(sd > 0, sd, 1)
    exact = np.linalg.eigvalsh(X64.T @ X64 / (len(X64) - 1))[::-1][:k]
    total = X64.var(axis=0, ddof=1).sum()
    print(f"exact_explained_ratio_sum={exact.sum() / total:.6f}")
    errs = {"ours": [], "sklearn": []}
    for seed in range(1, seeds + 1):
        ours = np.loadtxt(reports % seed, delimiter=",", skiprows=1, ndmin=2)[:, 1]
        p = model(k, standardize, seed).fit(X)
        sk = (p[-1] if standardize else p).explained_variance_
        if seed == 1:
            print(f"ours_explained_ratio_sum={ours.sum() / total:.6f}")
            print(f"sklearn_explained_ratio_sum={sk.sum() / total:.6f}")
            print(f"maxrel_var_ours_vs_sklearn={np.max(np.abs(ours - sk) / sk):.3g}")
        for name, v in (("ours", ours), ("sklearn", sk)):
            errs[name].append((1 - v.sum() / exact.sum(), np.max(np.abs(v - exact) / exact)))
    for name, e in errs.items():
        e = np.array(e)
        print(f"{name}_sum_shortfall_vs_exact={e[:, 0].mean():.3g}")
        print(f"{name}_maxrel_var_vs_exact={e[:, 1].mean():.3g}")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    standardize = "--standardize" in sys.argv
    seeds = 1
    if "--seeds" in sys.argv:
        seeds = int(sys.argv[sys.argv.index("--seeds") + 1])
        args.remove(str(seeds))
    if len(args) != 4 or args[0] not in ("run", "compare"):
        sys.exit(__doc__)
    cmd, path, k, other = args[0], args[1], int(args[2]), args[3]
    if cmd == "run":
        run(path, k, other, standardize)
    else:
        compare(path, k, other, standardize, seeds)


if __name__ == "__main__":
    main()

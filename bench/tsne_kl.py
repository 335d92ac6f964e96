#!/usr/bin/python3
"""Exact KL(P || Q) of several embeddings of the same data under one common P, so the
tools' self-reported (Barnes-Hut, each its own P) KL values can be checked on equal terms.

usage: tsne_kl.py X.npy PERPLEXITY NAME=EMB ...   (EMB: .npy stream/array or .csv)
P: sklearn's _joint_probabilities_nn on the k = 3 perplexity exact nearest neighbours.
Q: all N^2 pairs, exactly (no Barnes-Hut).
"""
import sys

import numpy as np
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.neighbors import NearestNeighbors


def load(path):
    if path.endswith(".csv"):
        return np.loadtxt(path, delimiter=",")
    a = np.load(path)
    return (a["x"] if a.dtype.names else a).reshape(len(a), -1).astype(np.float64)


def exact_kl(P, Y):
    n = len(Y)
    sq = (Y * Y).sum(1)
    Z = 0.0
    for s in range(0, n, 1000):  # blocks of rows: 1000 x n at a time
        d2 = np.maximum(sq[s:s + 1000, None] + sq[None, :] - 2 * Y[s:s + 1000] @ Y.T, 0)
        w = 1.0 / (1.0 + d2)
        w[np.arange(len(w)), np.arange(s, s + len(w))] = 0
        Z += w.sum()
    P = P.tocoo()
    d2 = ((Y[P.row] - Y[P.col]) ** 2).sum(1)
    q = 1.0 / (1.0 + d2) / Z
    return float((P.data * np.log(P.data / q)).sum())


def main():
    X = load(sys.argv[1])
    perplexity = float(sys.argv[2])
    k = int(3 * perplexity)
    nn = NearestNeighbors(n_neighbors=k).fit(X)
    D = nn.kneighbors_graph(mode="distance")
    D.data **= 2
    P = _joint_probabilities_nn(D, perplexity, 0)
    for arg in sys.argv[3:]:
        name, path = arg.split("=", 1)
        print(f"{name}_exact_kl={exact_kl(P, load(path)):.4f}")


if __name__ == "__main__":
    main()

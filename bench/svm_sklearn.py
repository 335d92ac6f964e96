#!/usr/bin/python3
"""bench/svm_sklearn.py - the scikit-learn side of bench/svm.sh.

    svm_sklearn.py FEATURES.npy SPLIT_DIR SEARCH_LOG.csv SEED [FOLD_LOG.csv]

Loads our feature stream (a NumPy record array with 'id' and 'x'), the split's train.csv and
test.csv, the C candidates train-svm tried (SEARCH_LOG, column c) and, when given, the fold
of every training row it used (FOLD_LOG, from --fold-log; else scikit-learn's own stratified
3-fold split with SEED). For SVC(kernel='linear') and LinearSVC, both with
class_weight='balanced', runs the same search as train-svm: every candidate scored by
cross-validated accuracy on the standardised training rows, the best refitted on all of
them. Prints one line per model (BENCH_SVM_MODELS=SVC: SVC only):
    NAME ACCURACY WALL_SECONDS CPU_SECONDS BEST_C
with the time of standardisation + search + refit (not of loading).
"""
import csv
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC


def read_split(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [r["file_name"] for r in rows], np.array([int(r["label"]) for r in rows])


def main():
    feats, split_dir, log, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    a = np.load(feats)
    index = {i.decode(): k for k, i in enumerate(a["id"])}
    X = a["x"].reshape(len(a), -1)
    tr_ids, ytr = read_split(f"{split_dir}/train.csv")
    te_ids, yte = read_split(f"{split_dir}/test.csv")
    Xtr = X[[index[i] for i in tr_ids]].astype(np.float64)
    Xte = X[[index[i] for i in te_ids]].astype(np.float64)
    with open(log) as f:
        cands = [float(r["c"]) for r in csv.DictReader(f)]
    if len(sys.argv) > 5:
        with open(sys.argv[5]) as f:
            fold_of = {r["file_name"]: int(r["fold"]) for r in csv.DictReader(f)}
        cv = PredefinedSplit([fold_of[i] for i in tr_ids])
    else:
        cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    # BENCH_SVM_MODELS=SVC skips LinearSVC (by far the slowest) for a quick run.
    wanted = os.environ.get("BENCH_SVM_MODELS", "SVC,LinearSVC").split(",")
    for name, model in [("SVC", SVC(kernel="linear", class_weight="balanced")),
                        ("LinearSVC", LinearSVC(class_weight="balanced"))]:
        if name not in wanted:
            continue
        w0, c0 = time.perf_counter(), time.process_time()
        scaler = StandardScaler().fit(Xtr)
        search = GridSearchCV(model, {"C": cands}, scoring="accuracy", refit=True,
                              cv=cv)
        search.fit(scaler.transform(Xtr), ytr)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        acc = float(np.mean(search.predict(scaler.transform(Xte)) == yte))
        print(f"{name} {acc:.6f} {wall:.2f} {cpu:.2f} {search.best_params_['C']:.4e}", flush=True)


if __name__ == "__main__":
    main()

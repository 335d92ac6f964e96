# elbow.awk - pick k from `k,inertia` lines (kmeans --elbow) by the "kneedle" rule
# (Satopaa et al. 2011) on log(inertia): scale k and log(inertia) to [0, 1] and take the k
# farthest below the straight line from the first to the last point - where adding
# clusters stops paying. The log matters: inertia falls by orders of magnitude over the
# first few k, and on a linear scale the knee lands at the first big drop (k = 2 or 3),
# before well-separated small groups (like the noise images) get a cluster of their own.
BEGIN { FS = ","; n = 0 }
NR == 1 && $1 == "k" { next }
{ if ($2 <= 0) { print "elbow.awk: line " NR ": inertia must be positive" > "/dev/stderr"; exit 1 }
  k[n] = $1; v[n] = log($2); n++ }
END {
    if (n < 3) { print "elbow.awk: need at least 3 points" > "/dev/stderr"; exit 1 }
    lo = v[0]; hi = v[0]
    for (i = 0; i < n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
    best = 0; bk = k[0]
    for (i = 0; i < n; i++) {
        x = (k[i] - k[0]) / (k[n - 1] - k[0])
        y = hi > lo ? (v[i] - lo) / (hi - lo) : 0
        d = (1 - x) - y            # distance below the line y = 1 - x (up to a constant)
        if (d > best) { best = d; bk = k[i] }
    }
    print bk
}

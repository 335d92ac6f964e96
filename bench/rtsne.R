# R side of bench/tsne.sh: Rtsne (Debian r-cran-rtsne) on a CSV whose first column is the id.
# usage: Rscript rtsne.R X.csv OUT.csv THREADS [PERPLEXITY] [ITER]
# Prints key=value lines: wall and CPU seconds of the Rtsne() call, its final KL (the last of
# itercosts, Rtsne's own Barnes-Hut estimate). Defaults otherwise (theta 0.5, eta 200,
# random init), except pca = FALSE: the other tools embed the 30 columns as they are.
suppressMessages(library(Rtsne))
args <- commandArgs(trailingOnly = TRUE)
threads <- as.integer(args[3])
perplexity <- if (length(args) > 3) as.numeric(args[4]) else 30
iter <- if (length(args) > 4) as.integer(args[5]) else 1000
X <- as.matrix(read.csv(args[1], row.names = 1))
set.seed(1)
t0 <- proc.time()
r <- Rtsne(X, dims = 2, perplexity = perplexity, theta = 0.5, max_iter = iter, pca = FALSE,
           num_threads = threads, check_duplicates = FALSE)
t <- proc.time() - t0
write.table(r$Y, args[2], sep = ",", row.names = FALSE, col.names = FALSE)
cat(sprintf("rtsne%d_seconds=%.2f\n", threads, t[["elapsed"]]))
cat(sprintf("rtsne%d_cpu_seconds=%.2f\n", threads, t[["user.self"]] + t[["sys.self"]]))
cat(sprintf("rtsne%d_kl=%.4f\n", threads, tail(r$itercosts, 1)))

/* replay.c - runs a fuzz harness on files instead of under libFuzzer: the regression inputs
 * of tests/fuzz/regress/ and the seed corpus, with any compiler and any sanitizer.
 *
 * Usage: replay-TARGET FILE|DIR...     (a directory: every file in it)
 * Exit 0 when every input ran through; a harness check or a sanitizer aborts the run, naming
 * the input on stderr first. Prints "replay: N inputs, 0 crashes". */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long ran;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno)); exit(1); }
    size_t cap = 1 << 16, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    if (!buf || ferror(f)) { fprintf(stderr, "replay: cannot read %s\n", path); exit(1); }
    fclose(f);
    /* Named before running: if the input crashes, the last name on stderr is the culprit. */
    if (getenv("FZ_VERBOSE")) fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    ran++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of DIR, in name order (the same order on every machine). */
static void run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) { fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno)); exit(1); }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (n + 1) * sizeof *names);
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);   /* qsort(NULL, 0) is undefined */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "Usage: %s FILE|DIR...\n"
                "Runs the fuzz harness once on each input file (every file of a DIR).\n", argv[0]);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) run_dir(argv[i]);
        else run_file(argv[i]);
    }
    printf("replay: %ld inputs, 0 crashes\n", ran);
    return 0;
}

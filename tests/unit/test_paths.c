/* Unit tests of same_path (common/err.c): two output names are one file however they are
 * spelt - "./", a detour through a directory, a link to an existing file or to a file not
 * yet made - and different names are different, also where nothing resolves. Works in a
 * fresh temporary directory. */
#include "check.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void touch(const char *p)
{
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
}

int main(void)
{
    char dir[] = "/tmp/fp-paths-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) { perror("temporary directory"); return 1; }
    mkdir("sub", 0777);
    touch("m.weights");
    if (symlink("../m.weights", "sub/link.weights") != 0 || symlink("new.weights", "dangling") != 0 ||
        symlink("loop", "loop") != 0) { perror("symlink"); return 1; }

    /* the same file */
    CHECK(same_path("m.weights", "m.weights"));
    CHECK(same_path("m.weights", "./m.weights"));
    CHECK(same_path("sub/../m.weights", "m.weights"));
    CHECK(same_path("sub/link.weights", "m.weights"));
    char abs[4200];
    snprintf(abs, sizeof abs, "%s/m.weights", dir);
    CHECK(same_path(abs, "m.weights"));
    /* files not made yet: by their directory and name; a dangling link by what it names */
    CHECK(same_path("new.weights", "./new.weights"));
    CHECK(same_path("dangling", "new.weights"));
    CHECK(same_path("/", "//"));
    /* different files */
    CHECK(!same_path("m.weights", "m.weights.cfg"));
    CHECK(!same_path("sub/m.weights", "m.weights"));
    CHECK(!same_path("dangling", "m.weights"));
    CHECK(!same_path("no/such/dir/m.weights", "m.weights"));
    CHECK(!same_path("loop", "m.weights"));  /* a link to itself resolves to nothing */

    unlink("loop");
    unlink("dangling");
    unlink("sub/link.weights");
    unlink("m.weights");
    rmdir("sub");
    if (chdir("/") == 0) rmdir(dir);
    return check_summary("test_paths");
}

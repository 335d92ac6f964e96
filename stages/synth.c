/* synth - write a labelled dataset of procedurally drawn faces in the AMLS layout.
 *
 *   DIR/images/<id>.png        ids 1..N, 256x256 RGB
 *   DIR/attribute_list.csv     file_name,hair_color,eyeglasses,smiling,young,human
 *
 * About 9% of the images are "noise" (skies, gradients, mountains, landscapes) with all five
 * labels -1, as in the real AMLS set. Faces are drawn so that every label is true to what is
 * in the picture (see common/synth_draw.c and docs/synth.md). With --defects some files are
 * made messy on purpose (RGBA, greyscale, JPEG data under a .png name, one truncated file) to
 * exercise the decoder; their ids are listed on stderr.
 *
 * Determinism: image `id` is drawn from rng stream `id` of the seed and the global choices
 * (which ids are noise, which are defective) from stream 0, so the files do not depend on the
 * number of threads. The CSV is written last and atomically: a killed run leaves no CSV, and a
 * directory without attribute_list.csv is not a dataset. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE without including it */

#include "err.h"
#include "image.h"
#include "progress.h"
#include "rng.h"
#include "synth_draw.h"
#include "threads.h"

#define NOISE_SHARE 0.09       /* of all images, like the AMLS noise */
#define HAT_SHARE 0.08         /* of faces: hair hidden, hair_color = -1 */
#define DEFECT_SHARE 0.015     /* of all images, per defect kind (at least one each) */
#define JPEG_QUALITY 90

static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: synth [-n N] [--seed S] [--size PX] [--defects] [--force] [-q] DIR\n"
        "Write a synthetic face-attribute dataset in the AMLS layout:\n"
        "  DIR/images/<id>.png       ids 1..N, PX x PX RGB PNG\n"
        "  DIR/attribute_list.csv    file_name,hair_color,eyeglasses,smiling,young,human\n"
        "Faces are drawn procedurally from their labels (hair colour 0..5 or -1 under a hat,\n"
        "eyeglasses, smiling, young, human = photo-like vs cartoon); about 9%% of the images\n"
        "are noise pictures with all five labels -1.\n"
        "\n"
        "Options:\n"
        "  -n N          number of images (default 1000)\n"
        "  --seed S      random seed (default 1); the same seed gives byte-identical files\n"
        "  --size PX     image side in pixels, 32..1024 (default 256)\n"
        "  --defects     also write messy files: RGBA and greyscale PNGs, JPEG data under a\n"
        "                .png name, and one truncated PNG; their ids are listed on stderr\n"
        "  --force       replace an existing dataset in DIR (removes its CSV and <id>.png)\n"
        "  -q, --quiet   no summary line on stderr (also when FP_QUIET is set); the list\n"
        "                of defective files is printed all the same\n"
        "  -h, --help    show this help\n"
        "\n"
        "Environment: FP_THREADS sets the number of worker threads (default: all CPUs).\n"
        "The output does not depend on it.\n");
}

/* ------------------------------------------------------------------ options */

typedef struct {
    int64_t n;
    unsigned long long seed;
    int size, defects, force, quiet;
    const char *dir;
} options;

/* Value of option `name` given as "--name VALUE" or "--name=VALUE"; advances *i. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t len = strlen(name);
    if (a[len] == '=') return a + len + 1;
    if (*i + 1 >= argc) die_usage("option '%s' needs a value", name);
    return argv[++*i];
}

static int is_opt(const char *a, const char *name)
{
    size_t len = strlen(name);
    return strncmp(a, name, len) == 0 && (a[len] == '\0' || a[len] == '=');
}

static options parse_args(int argc, char **argv)
{
    options o = {.n = 1000, .seed = 1, .size = 256, .quiet = getenv("FP_QUIET") != NULL};
    int only_operands = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_operands || a[0] != '-' || a[1] == '\0') {
            if (o.dir) die_usage("more than one DIR given ('%s' and '%s')", o.dir, a);
            o.dir = a;
        } else if (strcmp(a, "--") == 0) {
            only_operands = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strncmp(a, "-n", 2) == 0) { /* "-n N" or "-nN" */
            const char *v = a[2] ? a + 2 : opt_value(argc, argv, &i, "-n");
            o.n = parse_long(v, "-n", 1, 1000000);
        } else if (is_opt(a, "--seed")) {
            o.seed = parse_seed(opt_value(argc, argv, &i, "--seed"));
        } else if (is_opt(a, "--size")) {
            o.size = (int)parse_long(opt_value(argc, argv, &i, "--size"), "--size", 32, 1024);
        } else if (strcmp(a, "--defects") == 0) {
            o.defects = 1;
        } else if (strcmp(a, "--force") == 0) {
            o.force = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o.quiet = 1;
        } else {
            die_usage("unknown option '%s'", a);
        }
    }
    if (!o.dir) die_usage("missing DIR (where to write the dataset)");
    if (o.defects && o.n < 5) die_usage("--defects needs -n 5 or more (one image per defect kind)");
    return o;
}

/* ------------------------------------------------------------------ labels */

enum { DEF_NONE, DEF_TRUNCATED, DEF_JPEG, DEF_RGBA_OPAQUE, DEF_RGBA_ALPHA, DEF_GREY, DEF_KINDS };
static const char *const DEF_NAME[DEF_KINDS] = {
    "none", "truncated", "jpeg", "rgba-opaque", "rgba-alpha", "grey"};

typedef struct {
    face_attr a;   /* CSV labels (all -1 for noise) */
    int noise;
    int defect;
    rng r;         /* the image's own stream, advanced past the label draws */
} item;

static int plus_minus(rng *r, double p_one) { return rng_uniform(r) < p_one ? 1 : -1; }

/* Hair colour given age: grey hair and baldness are commoner among the old, as in CelebA. */
static int sample_hair(rng *r, int young)
{
    static const double YOUNG[6] = {0.06, 0.22, 0.14, 0.26, 0.06, 0.26};
    static const double OLD[6] = {0.20, 0.12, 0.08, 0.16, 0.30, 0.14};
    if (rng_uniform(r) < HAT_SHARE) return -1;
    const double *w = young ? YOUNG : OLD;
    double u = rng_uniform(r), acc = 0;
    for (int k = 0; k < 5; k++)
        if (u < (acc += w[k])) return k;
    return 5;
}

/* One statement per draw: the order of evaluation inside an initialiser is unspecified, and
 * the draw order is part of the output. */
static face_attr sample_face(rng *r)
{
    face_attr a;
    a.human = plus_minus(r, 0.5);
    a.young = plus_minus(r, 0.6);
    a.smiling = plus_minus(r, 0.5);
    a.glasses = plus_minus(r, 0.3);
    a.hair = sample_hair(r, a.young > 0);
    /* A face whose five labels are all -1 would read as a noise row in the CSV: give such a
     * hat-wearer visible hair instead (a ~0.2% case). */
    while (a.hair == -1 && a.human < 0 && a.young < 0 && a.smiling < 0 && a.glasses < 0)
        a.hair = sample_hair(r, 0);
    return a;
}

/* ------------------------------------------------------------------ defects */

/* Next unused id from a shuffled list (advancing *cur), or 0 if none is left. A grey file keeps
 * only luminance, so on faces it goes to colourless hair (bald, grey, black, hat): the hair
 * label must stay true to what is visible. */
static int64_t take(const int64_t *list, int64_t n, int64_t *cur, item *items, int kind)
{
    while (*cur < n) {
        int64_t id = list[(*cur)++];
        item *it = &items[id - 1];
        if (it->defect != DEF_NONE) continue;
        if (kind == DEF_GREY && !it->noise && it->a.hair >= 1 && it->a.hair <= 3) continue;
        return id;
    }
    return 0;
}

/* Chooses which images are written messy. Every kind gets round(1.5% of N) images (at least
 * one; exactly one truncated file), spread over faces and noise: every fourth instance of a
 * kind, starting with the second, goes to a noise image, so no kind is tied to one class. */
static void assign_defects(item *items, int64_t n, rng *g)
{
    int64_t *faces = xmalloc(sizeof(int64_t) * n), *noise = xmalloc(sizeof(int64_t) * n);
    int64_t nf = 0, nn = 0, cf = 0, cn = 0;
    for (int64_t i = 0; i < n; i++) {
        if (items[i].noise) noise[nn++] = i + 1;
        else faces[nf++] = i + 1;
    }
    rng_shuffle(g, faces, nf);
    rng_shuffle(g, noise, nn);
    int64_t per_kind = llround(DEFECT_SHARE * n);
    if (per_kind < 1) per_kind = 1;
    for (int kind = DEF_TRUNCATED; kind < DEF_KINDS; kind++) {
        int64_t count = kind == DEF_TRUNCATED ? 1 : per_kind;
        for (int64_t j = 0; j < count; j++) {
            int want_noise = kind == DEF_TRUNCATED ? rng_uniform(g) < NOISE_SHARE : j % 4 == 1;
            int64_t id = want_noise ? take(noise, nn, &cn, items, kind) : 0;
            if (!id) id = take(faces, nf, &cf, items, kind);
            if (!id) id = take(noise, nn, &cn, items, kind);
            if (id) items[id - 1].defect = kind;
        }
    }
    free(faces);
    free(noise);
}

static void report_defects(const item *items, int64_t n)
{
    for (int kind = DEF_TRUNCATED; kind < DEF_KINDS; kind++) {
        fprintf(stderr, "%s: defects %s:", err_prog(), DEF_NAME[kind]);
        for (int64_t i = 0; i < n; i++)
            if (items[i].defect == kind) fprintf(stderr, " %lld", (long long)(i + 1));
        fputc('\n', stderr);
    }
}

/* ------------------------------------------------------------------ the plan */

/* Decides, before any drawing, what every image is: noise or face, its labels, its defect. */
static item *plan_dataset(const options *o, int64_t *n_noise)
{
    int64_t n = o->n;
    item *items = xcalloc((size_t)n, sizeof(item));
    rng g;
    rng_seed_stream(&g, o->seed, 0);
    int64_t *perm = xmalloc(sizeof(int64_t) * n);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    rng_shuffle(&g, perm, n);
    *n_noise = llround(NOISE_SHARE * n);
    for (int64_t k = 0; k < *n_noise; k++) items[perm[k]].noise = 1;
    free(perm);
    for (int64_t i = 0; i < n; i++) {
        item *it = &items[i];
        rng_seed_stream(&it->r, o->seed, (uint64_t)(i + 1));
        if (it->noise) it->a = (face_attr){-1, -1, -1, -1, -1};
        else it->a = sample_face(&it->r);
    }
    if (o->defects) assign_defects(items, n, &g);
    return items;
}

/* ------------------------------------------------------------------ writing files */

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void jpeg_die(j_common_ptr cinfo)
{
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    die("libjpeg: %s", msg);
}

/* JPEG data under the given (.png) name, through a temporary file like png_write_file. */
static void jpeg_write_file(const char *path, const uint8_t *px, int w, int h)
{
    char *tmp = str_printf("%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) die("cannot create %s: %s", tmp, strerror(errno));
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jerr.error_exit = jpeg_die;
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, fp);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, JPEG_QUALITY, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)cinfo.next_scanline * w * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (ferror(fp) | fclose(fp)) die("write error on %s", tmp);
    if (rename(tmp, path) != 0) die("cannot rename %s to %s: %s", tmp, path, strerror(errno));
    free(tmp);
}

/* RGBA copy; `fade` makes the corners transparent (alpha falling from 255 to 0 outside a
 * central disc). The colour under transparent pixels is kept, so a decoder that drops alpha
 * (as Pillow's convert('RGB') does) still sees the whole picture. */
static void write_rgba(const char *path, const uint8_t *px, int s, int fade)
{
    uint8_t *q = xmalloc((size_t)s * s * 4);
    for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
            size_t i = (size_t)y * s + x;
            float dx = (x + 0.5f) / s - 0.5f, dy = (y + 0.5f) / s - 0.5f;
            float rho = 2 * sqrtf(dx * dx + dy * dy); /* 1 at the middle of an edge */
            float a = fade ? 255 * (1 - (rho - 0.8f) / 0.5f) : 255;
            memcpy(q + 4 * i, px + 3 * i, 3);
            q[4 * i + 3] = (uint8_t)lrintf(a < 0 ? 0 : (a > 255 ? 255 : a));
        }
    }
    png_write_file(path, q, s, s, 4);
    free(q);
}

static void write_grey(const char *path, const uint8_t *px, int s)
{
    uint8_t *q = xmalloc((size_t)s * s);
    for (size_t i = 0; i < (size_t)s * s; i++) {
        const uint8_t *p = px + 3 * i;
        q[i] = (uint8_t)((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
    }
    png_write_file(path, q, s, s, 1);
    free(q);
}

/* A PNG cut in half, as left by an interrupted copy. */
static void write_truncated(const char *path, const uint8_t *px, int s)
{
    png_write_file(path, px, s, s, 3);
    struct stat st;
    if (stat(path, &st) != 0) die("cannot stat %s: %s", path, strerror(errno));
    if (truncate(path, st.st_size / 2) != 0) die("cannot truncate %s: %s", path, strerror(errno));
}

static void write_image(const char *path, const uint8_t *px, int s, int defect)
{
    switch (defect) {
    case DEF_TRUNCATED: write_truncated(path, px, s); break;
    case DEF_JPEG: jpeg_write_file(path, px, s, s); break;
    case DEF_RGBA_OPAQUE: write_rgba(path, px, s, 0); break;
    case DEF_RGBA_ALPHA: write_rgba(path, px, s, 1); break;
    case DEF_GREY: write_grey(path, px, s); break;
    default: png_write_file(path, px, s, s, 3); break;
    }
}

typedef struct {
    const item *items;
    int size;
    const char *images;
} job;

static void render_one(void *ctx, int64_t i, int thread)
{
    (void)thread;
    const job *J = ctx;
    const item *it = &J->items[i];
    rng r = it->r; /* a copy: items are shared and read-only here */
    canvas c = canvas_new(J->size, J->size);
    if (it->noise) draw_noise(&c, &r);
    else draw_face(&c, &it->a, &r);
    uint8_t *px = xmalloc((size_t)J->size * J->size * 3);
    canvas_to_rgb8(&c, px);
    canvas_free(&c);
    char *path = str_printf("%s/%lld.png", J->images, (long long)(i + 1));
    write_image(path, px, J->size, it->defect);
    free(path);
    free(px);
}

/* ------------------------------------------------------------------ the directory */

static char *join(const char *a, const char *b) { return str_printf("%s/%s", a, b); }

static void make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0) return;
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return;
    die("cannot create directory %s: %s", path, strerror(errno));
}

/* Files synth itself writes into images/: "<digits>.png" and leftovers "<...>.tmp.<pid>". */
static int is_ours(const char *name)
{
    if (strstr(name, ".tmp.")) return 1;
    const char *p = name;
    while (*p >= '0' && *p <= '9') p++;
    return p > name && strcmp(p, ".png") == 0;
}

/* Creates DIR and DIR/images. An existing dataset (any file in images/, or a CSV) is only
 * replaced with --force: then the CSV goes first (so a crash leaves no complete-looking
 * dataset) and every file synth could have written is removed, so no stale ids remain. */
static void prepare_dir(const char *dir, const char *images, const char *csv, int force)
{
    make_dir(dir);
    make_dir(images);
    DIR *d = opendir(images);
    if (!d) die("cannot read directory %s: %s", images, strerror(errno));
    long existing = 0, foreign = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) existing++;
    int has_csv = access(csv, F_OK) == 0;
    if (!existing && !has_csv) {
        closedir(d);
        return;
    }
    if (!force) {
        closedir(d);
        die("%s already holds a dataset (%ld files in images/%s); use --force to replace it",
            dir, existing, has_csv ? ", attribute_list.csv" : "");
    }
    if (has_csv && unlink(csv) != 0) die("cannot remove %s: %s", csv, strerror(errno));
    rewinddir(d);
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!is_ours(e->d_name)) { foreign++; continue; }
        char *p = join(images, e->d_name);
        if (unlink(p) != 0) die("cannot remove %s: %s", p, strerror(errno));
        free(p);
    }
    closedir(d);
    if (foreign) warn("left %ld files in %s that synth did not write", foreign, images);
}

static void write_csv(const char *csv, const item *items, int64_t n)
{
    outfile o = out_open(csv);
    fprintf(o.fp, "file_name,hair_color,eyeglasses,smiling,young,human\n");
    for (int64_t i = 0; i < n; i++) {
        const face_attr *a = &items[i].a;
        fprintf(o.fp, "%lld,%d,%d,%d,%d,%d\n", (long long)(i + 1), a->hair, a->glasses,
                a->smiling, a->young, a->human);
    }
    out_commit(&o);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    options o = parse_args(argc, argv);
    double t0 = now_seconds();
    char *images = join(o.dir, "images"), *csv = join(o.dir, "attribute_list.csv");
    prepare_dir(o.dir, images, csv, o.force);

    int64_t n_noise;
    item *items = plan_dataset(&o, &n_noise);
    job J = {items, o.size, images};
    parallel_for(o.n, 0, render_one, &J);
    write_csv(csv, items, o.n); /* last: its presence means the images are complete */

    if (o.defects) report_defects(items, o.n);
    if (!o.quiet)
        fprintf(stderr, "%s: wrote %lld images (%lld noise) to %s in %.1f s\n", err_prog(),
                (long long)o.n, (long long)n_noise, o.dir, now_seconds() - t0);
    free(items);
    free(images);
    free(csv);
    return 0;
}

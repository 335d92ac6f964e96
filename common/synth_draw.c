/* synth_draw.c - procedural faces and noise pictures for the synth stage.
 *
 * The drawing model is deliberately tiny: a float RGB canvas and a painter that fills one
 * signed-distance shape at a time, with a linear ramp over the edge (anti-aliasing, or a wider
 * ramp for the soft edges of "photos"). A face is ~40 such shapes in a rotated, scaled frame.
 * Only pixels inside each shape's bounding box are visited, which keeps a 256x256 face at a
 * few milliseconds. See docs/synth.md for what is drawn and why. */
#include "synth_draw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ------------------------------------------------------------------ small helpers */

static float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }
/* Plain comparisons: without -ffast-math, fminf/fmaxf are library calls in the hot loops. */
static float minf(float a, float b) { return a < b ? a : b; }
static float maxf(float a, float b) { return a > b ? a : b; }
static float urange(rng *r, float a, float b) { return a + (b - a) * (float)rng_uniform(r); }
static int chance(rng *r, double p) { return rng_uniform(r) < p; }
static float smooth01(float t) { return t * t * (3.0f - 2.0f * t); }

static void set3(float *d, float a, float b, float c) { d[0] = a; d[1] = b; d[2] = c; }
static void copy3(float *d, const float *s) { memcpy(d, s, 3 * sizeof(float)); }
static void scale3(float *d, const float *s, float k) { set3(d, s[0] * k, s[1] * k, s[2] * k); }
static void mix3(float *d, const float *a, const float *b, float t)
{
    for (int k = 0; k < 3; k++) d[k] = a[k] + (b[k] - a[k]) * t;
}
static float luma(const float *c) { return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]; }

/* Moves a colour towards its own grey by t (0 keeps it, 1 makes it grey). */
static void desaturate(float *c, float t)
{
    float y = luma(c);
    for (int k = 0; k < 3; k++) c[k] += (y - c[k]) * t;
}

static void hsv(float *out, float h, float s, float v)
{
    h = h - floorf(h);
    float f = h * 6.0f, p = v * (1 - s);
    int i = (int)f % 6;
    float fr = f - floorf(f), q = v * (1 - s * fr), t = v * (1 - s * (1 - fr));
    switch (i) {
    case 0: set3(out, v, t, p); break;
    case 1: set3(out, q, v, p); break;
    case 2: set3(out, p, v, t); break;
    case 3: set3(out, p, q, v); break;
    case 4: set3(out, t, p, v); break;
    default: set3(out, v, p, q); break;
    }
}

/* Jitters each channel by +-amount (so two faces with the same hair class differ a little). */
static void jitter3(float *c, rng *r, float amount)
{
    for (int k = 0; k < 3; k++) c[k] = clampf(c[k] + urange(r, -amount, amount), 0, 1);
}

/* ------------------------------------------------------------------ canvas */

canvas canvas_new(int w, int h)
{
    canvas c = {w, h, xmalloc((size_t)w * h * 3 * sizeof(float))};
    return c;
}

void canvas_free(canvas *c)
{
    free(c->px);
    c->px = NULL;
}

void canvas_fill(canvas *c, const float rgb[3])
{
    for (int64_t i = 0; i < (int64_t)c->w * c->h; i++) copy3(c->px + 3 * i, rgb);
}

/* Box blur of one row of n RGB pixels into out (clamp-to-edge). A running sum makes the cost
 * independent of the radius. */
static void blur_row(const float *in, float *out, int n, int rad)
{
    float inv = 1.0f / (2 * rad + 1), s[3] = {0, 0, 0};
    for (int i = -rad; i <= rad; i++) {
        const float *p = in + 3 * (i < 0 ? 0 : (i >= n ? n - 1 : i));
        s[0] += p[0]; s[1] += p[1]; s[2] += p[2];
    }
    for (int i = 0; i < n; i++) {
        int add = i + rad + 1 < n ? i + rad + 1 : n - 1, sub = i - rad > 0 ? i - rad : 0;
        for (int k = 0; k < 3; k++) {
            out[3 * i + k] = s[k] * inv;
            s[k] += in[3 * add + k] - in[3 * sub + k];
        }
    }
}

/* Vertical box blur done a whole row at a time (a running sum of rows), so memory is walked
 * in order instead of down the columns. */
static void blur_columns(float *px, int w, int h, int rad, float *sum, float *out)
{
    int rowlen = 3 * w;
    float inv = 1.0f / (2 * rad + 1);
    memset(sum, 0, sizeof(float) * rowlen);
    for (int i = -rad; i <= rad; i++) {
        const float *p = px + (size_t)rowlen * (i < 0 ? 0 : (i >= h ? h - 1 : i));
        for (int k = 0; k < rowlen; k++) sum[k] += p[k];
    }
    for (int y = 0; y < h; y++) {
        int add = y + rad + 1 < h ? y + rad + 1 : h - 1, sub = y - rad > 0 ? y - rad : 0;
        const float *pa = px + (size_t)rowlen * add, *ps = px + (size_t)rowlen * sub;
        float *o = out + (size_t)rowlen * y;
        for (int k = 0; k < rowlen; k++) {
            o[k] = sum[k] * inv;
            sum[k] += pa[k] - ps[k];
        }
    }
    memcpy(px, out, sizeof(float) * rowlen * h);
}

void canvas_blur(canvas *c, int radius, int passes)
{
    if (radius <= 0) return;
    size_t rowlen = 3 * (size_t)c->w;
    float *row = xmalloc(sizeof(float) * rowlen), *sum = xmalloc(sizeof(float) * rowlen);
    float *out = xmalloc(sizeof(float) * rowlen * c->h);
    for (int pass = 0; pass < passes; pass++) {
        for (int y = 0; y < c->h; y++) {
            float *p = c->px + rowlen * y;
            blur_row(p, row, c->w, radius);
            memcpy(p, row, sizeof(float) * rowlen);
        }
        blur_columns(c->px, c->w, c->h, radius, sum, out);
    }
    free(row);
    free(sum);
    free(out);
}

void canvas_to_rgb8(const canvas *c, uint8_t *out)
{
    for (int64_t i = 0; i < (int64_t)c->w * c->h * 3; i++)
        out[i] = (uint8_t)(clampf(c->px[i], 0, 1) * 255.0f + 0.5f);
}

/* Adds fine grain (sensor noise / skin and surface texture) of strength sigma. Triangular noise
 * from 16-bit slices of one 64-bit draw: far cheaper than a normal per sample and it looks the
 * same. Part of the grain is shared by the three channels (luminance), part is per channel. */
static void add_grain(canvas *c, rng *r, float sigma)
{
    const float k = sigma / 65536.0f;
    for (int64_t i = 0; i < (int64_t)c->w * c->h; i++) {
        uint64_t b = rng_u64(r);
        float l = (float)((b & 0xffff) + ((b >> 16) & 0xffff)) - 65536.0f;
        float *p = c->px + 3 * i;
        for (int ch = 0; ch < 3; ch++) {
            float own = (float)((b >> (32 + 10 * ch)) & 0x3ff) - 512.0f; /* +-512, uniform */
            p[ch] += k * (2.0f * l + 100.0f * own); /* sd ~ sigma */
        }
    }
}

/* Fractal value noise in [0, 1] into out[w*h]: `octaves` layers of bilinearly (smoothstep)
 * interpolated random lattices, starting with `cells` cells across, each layer twice as fine
 * and `gain` times as strong. Used for clouds, fields and background texture. */
static void fbm(float *out, int w, int h, rng *r, int cells, int octaves, float gain)
{
    memset(out, 0, sizeof(float) * w * h);
    float amp = 1, total = 0;
    for (int o = 0; o < octaves; o++, cells *= 2, amp *= gain) {
        int g = cells + 1;
        float *lat = xmalloc(sizeof(float) * g * g);
        for (int i = 0; i < g * g; i++) lat[i] = (float)rng_uniform(r);
        for (int y = 0; y < h; y++) {
            float fy = (y + 0.5f) * cells / h;
            int iy = (int)fy;
            if (iy >= cells) iy = cells - 1;
            float ty = smooth01(fy - iy);
            for (int x = 0; x < w; x++) {
                float fx = (x + 0.5f) * cells / w;
                int ix = (int)fx;
                if (ix >= cells) ix = cells - 1;
                float tx = smooth01(fx - ix);
                const float *a = lat + iy * g + ix, *b = a + g;
                float top = a[0] + (a[1] - a[0]) * tx, bot = b[0] + (b[1] - b[0]) * tx;
                out[y * w + x] += amp * (top + (bot - top) * ty);
            }
        }
        total += amp;
        free(lat);
    }
    for (int i = 0; i < w * h; i++) out[i] /= total;
}

/* ------------------------------------------------------------------ shapes */

frame frame_make(float cx, float cy, float scale, float angle)
{
    frame f = {cx, cy, scale, cosf(angle), sinf(angle)};
    return f;
}

shape sh_ellipse(float cx, float cy, float rx, float ry)
{
    shape s = {.kind = SH_ELLIPSE, .cx = cx, .cy = cy, .rx = rx, .ry = ry};
    return s;
}

shape sh_box(float cx, float cy, float rx, float ry, float round)
{
    shape s = {.kind = SH_BOX, .cx = cx, .cy = cy, .rx = rx, .ry = ry, .round = round};
    return s;
}

shape sh_line(int n, const float *pts, float width)
{
    if (n < 2 || n > SH_MAXPTS) die("sh_line: %d points (need 2..%d)", n, SH_MAXPTS);
    shape s = {.kind = SH_LINE, .hw = width / 2, .n = n};
    memcpy(s.pts, pts, sizeof(float) * 2 * n);
    return s;
}

shape sh_arc(float cx, float cy, float w, float depth, float width)
{
    float pts[2 * 11];
    for (int i = 0; i <= 10; i++) {
        float t = (i - 5) / 5.0f;
        pts[2 * i] = cx + w * t;
        pts[2 * i + 1] = cy - depth * t * t;
    }
    return sh_line(11, pts, width);
}

shape sh_band(float cx, float cy, float w, float ctop, float cbot)
{
    shape s = {.kind = SH_BAND, .cx = cx, .cy = cy, .w = w, .ctop = ctop, .cbot = cbot};
    return s;
}

shape sh_half(float cx, float cy, float nu, float nv)
{
    float n = sqrtf(nu * nu + nv * nv);
    shape s = {.kind = SH_HALF, .cx = cx, .cy = cy, .nu = nu / n, .nv = nv / n};
    return s;
}

shape sh_ring(shape s, float width)
{
    s.ring = width;
    return s;
}

static float seg_dist(float px, float py, float ax, float ay, float bx, float by)
{
    float dx = bx - ax, dy = by - ay, qx = px - ax, qy = py - ay;
    float len2 = dx * dx + dy * dy;
    float t = len2 > 0 ? clampf((qx * dx + qy * dy) / len2, 0, 1) : 0;
    qx -= t * dx;
    qy -= t * dy;
    return sqrtf(qx * qx + qy * qy);
}

/* Signed distance in local units (negative inside). Exact for boxes and lines; for ellipses the
 * usual first-order approximation, good enough for a one- or two-pixel edge ramp. */
static float sdf_fill(const shape *s, float u, float v)
{
    switch (s->kind) {
    case SH_ELLIPSE: {
        float px = u - s->cx, py = v - s->cy;
        float ax = px / s->rx, ay = py / s->ry;
        float bx = ax / s->rx, by = ay / s->ry;
        float k0 = sqrtf(ax * ax + ay * ay), k1 = sqrtf(bx * bx + by * by);
        if (k1 < 1e-12f) return -minf(s->rx, s->ry);
        return k0 * (k0 - 1.0f) / k1;
    }
    case SH_BOX: {
        float qx = fabsf(u - s->cx) - (s->rx - s->round), qy = fabsf(v - s->cy) - (s->ry - s->round);
        float ox = maxf(qx, 0), oy = maxf(qy, 0);
        return sqrtf(ox * ox + oy * oy) + minf(maxf(qx, qy), 0) - s->round;
    }
    case SH_LINE: {
        float d = 1e30f;
        for (int i = 0; i + 1 < s->n; i++) {
            const float *a = s->pts + 2 * i;
            d = minf(d, seg_dist(u, v, a[0], a[1], a[2], a[3]));
        }
        return d - s->hw;
    }
    case SH_BAND: {
        float t = (u - s->cx) / s->w, k = 1 - t * t;
        float top = s->cy + s->ctop * k, bot = s->cy + s->cbot * k;
        return maxf(maxf(top - v, v - bot), fabsf(u - s->cx) - s->w);
    }
    default: /* SH_HALF */
        return s->nu * (u - s->cx) + s->nv * (v - s->cy);
    }
}

static float sdf(const shape *s, float u, float v)
{
    float d = sdf_fill(s, u, v);
    return s->ring > 0 ? fabsf(d) - s->ring / 2 : d;
}

/* Local bounding box; returns 0 for unbounded shapes (half planes). */
static int shape_bounds_fill(const shape *s, float *u0, float *v0, float *u1, float *v1)
{
    switch (s->kind) {
    case SH_ELLIPSE:
    case SH_BOX:
        *u0 = s->cx - s->rx; *u1 = s->cx + s->rx;
        *v0 = s->cy - s->ry; *v1 = s->cy + s->ry;
        return 1;
    case SH_LINE:
        *u0 = *v0 = 1e30f;
        *u1 = *v1 = -1e30f;
        for (int i = 0; i < s->n; i++) {
            *u0 = minf(*u0, s->pts[2 * i]); *u1 = maxf(*u1, s->pts[2 * i]);
            *v0 = minf(*v0, s->pts[2 * i + 1]); *v1 = maxf(*v1, s->pts[2 * i + 1]);
        }
        *u0 -= s->hw; *v0 -= s->hw; *u1 += s->hw; *v1 += s->hw;
        return 1;
    case SH_BAND:
        *u0 = s->cx - s->w; *u1 = s->cx + s->w;
        *v0 = s->cy + minf(0, minf(s->ctop, s->cbot));
        *v1 = s->cy + maxf(0, maxf(s->ctop, s->cbot));
        return 1;
    default:
        return 0;
    }
}

static int shape_bounds(const shape *s, float *u0, float *v0, float *u1, float *v1)
{
    if (!shape_bounds_fill(s, u0, v0, u1, v1)) return 0;
    float m = s->ring / 2;
    *u0 -= m; *v0 -= m; *u1 += m; *v1 += m;
    return 1;
}

/* Pixel rectangle [x0, x1) x [y0, y1) that can be touched when painting s (and clip). */
static void pixel_bounds(const canvas *c, const frame *f, const shape *s, const shape *clip,
                         float margin, int *x0, int *y0, int *x1, int *y1)
{
    float u0, v0, u1, v1;
    int bounded = shape_bounds(s, &u0, &v0, &u1, &v1);
    float cu0, cv0, cu1, cv1;
    if (clip && shape_bounds(clip, &cu0, &cv0, &cu1, &cv1)) {
        if (!bounded) { u0 = cu0; v0 = cv0; u1 = cu1; v1 = cv1; bounded = 1; }
        else { u0 = maxf(u0, cu0); v0 = maxf(v0, cv0); u1 = minf(u1, cu1); v1 = minf(v1, cv1); }
    }
    *x0 = 0; *y0 = 0; *x1 = c->w; *y1 = c->h;
    if (!bounded) return;
    float xs[4], ys[4], us[4] = {u0, u1, u0, u1}, vs[4] = {v0, v0, v1, v1};
    float xmin = 1e30f, xmax = -1e30f, ymin = 1e30f, ymax = -1e30f;
    for (int i = 0; i < 4; i++) {
        xs[i] = f->cx + f->scale * (f->cs * us[i] - f->sn * vs[i]);
        ys[i] = f->cy + f->scale * (f->sn * us[i] + f->cs * vs[i]);
        xmin = minf(xmin, xs[i]); xmax = maxf(xmax, xs[i]);
        ymin = minf(ymin, ys[i]); ymax = maxf(ymax, ys[i]);
    }
    *x0 = (int)maxf(0, floorf(xmin - margin));
    *y0 = (int)maxf(0, floorf(ymin - margin));
    *x1 = (int)minf(c->w, ceilf(xmax + margin) + 1);
    *y1 = (int)minf(c->h, ceilf(ymax + margin) + 1);
}

/* Brightness of a lit dome over the shape's ellipse at local (u, v): 1 facing the light,
 * `ambient` on the far side. Gives photo faces their roundness. */
static float dome(const shape *s, const style *st, const float *L, float u, float v)
{
    float qx = (u - s->cx) / s->rx, qy = (v - s->cy) / s->ry, r2 = qx * qx + qy * qy;
    if (r2 > 1) { float k = 1 / sqrtf(r2); qx *= k; qy *= k; r2 = 1; }
    float nz = sqrtf(1 - r2);
    float lit = clampf(qx * L[0] + qy * L[1] + nz * L[2], 0, 1);
    return st->ambient + (1.1f - st->ambient) * lit; /* lit side a little above the base */
}

void paint(canvas *c, const frame *f, const shape *s, const shape *clip, const style *st)
{
    float soft = maxf(st->soft, 0.5f), alpha = st->alpha > 0 ? st->alpha : 1;
    int x0, y0, x1, y1;
    pixel_bounds(c, f, s, clip, soft + st->outline + 1, &x0, &y0, &x1, &y1);
    float L[3] = {st->light[0], st->light[1], st->light[2]};
    float ln = sqrtf(L[0] * L[0] + L[1] * L[1] + L[2] * L[2]);
    if (ln > 0) for (int k = 0; k < 3; k++) L[k] /= ln;
    float inv = 1.0f / f->scale;
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            /* Pixel centre to local coordinates (inverse rotation and scale). */
            float dx = x + 0.5f - f->cx, dy = y + 0.5f - f->cy;
            float u = (f->cs * dx + f->sn * dy) * inv, v = (-f->sn * dx + f->cs * dy) * inv;
            float d = sdf(s, u, v);
            if (clip) d = maxf(d, sdf(clip, u, v));
            d *= f->scale; /* to pixels */
            float cover = clampf(0.5f - d / soft, 0, 1);
            float cover_line = st->outline > 0 ? clampf(0.5f - (d - st->outline) / soft, 0, 1) : 0;
            if (cover <= 0 && cover_line <= 0) continue;
            float *p = c->px + 3 * ((int64_t)y * c->w + x);
            if (cover_line > 0) mix3(p, p, st->line_rgb, cover_line * alpha);
            if (cover > 0) {
                float col[3];
                if (st->sphere) scale3(col, st->rgb, dome(s, st, L, u, v));
                else copy3(col, st->rgb);
                mix3(p, p, col, cover * alpha);
            }
        }
    }
}

/* ------------------------------------------------------------------ face */

/* Everything about one face that is not a label: decided once, then used by the parts. */
typedef struct {
    int photo;            /* human == 1: shaded, soft, noisy; else cartoon: flat + outlines */
    float k;              /* canvas size / 256, to keep pixel widths proportional */
    frame f;              /* face frame: unit = face half-height */
    float aspect;         /* face half-width */
    float skin[3], hair[3], brow[3], line[3];
    float outline;        /* cartoon outline width, pixels */
    float soft;           /* edge ramp, pixels */
    float light[3];
    float eye_u, eye_v, mouth_v, mouth_w;
} face_look;

/* Hair colours per class, with two variants each; 0 (bald) is unused. Chosen so the six
 * classes are still told apart after a 4x downscale: blond is light and yellow, ginger
 * saturated orange, brown mid dark warm, grey neutral light-to-mid, black near black. */
static const float HAIR_RGB[6][2][3] = {
    {{0, 0, 0}, {0, 0, 0}},
    {{0.90f, 0.76f, 0.44f}, {0.82f, 0.68f, 0.36f}},
    {{0.80f, 0.36f, 0.12f}, {0.68f, 0.27f, 0.09f}},
    {{0.40f, 0.27f, 0.17f}, {0.30f, 0.21f, 0.14f}},
    {{0.70f, 0.70f, 0.69f}, {0.55f, 0.55f, 0.56f}},
    {{0.10f, 0.09f, 0.09f}, {0.16f, 0.14f, 0.13f}},
};

static const float SKIN_RGB[6][3] = {
    {0.97f, 0.82f, 0.71f}, {0.93f, 0.73f, 0.59f}, {0.82f, 0.61f, 0.45f},
    {0.66f, 0.46f, 0.31f}, {0.50f, 0.33f, 0.22f}, {0.38f, 0.25f, 0.17f},
};

/* Style presets: a skin-like fill (dome-shaded on photos) and a flat fill/stroke. */
static style st_skin(const face_look *F, const float *rgb)
{
    style st = {.soft = F->soft, .outline = F->outline, .sphere = F->photo, .ambient = 0.66f};
    copy3(st.rgb, rgb);
    copy3(st.line_rgb, F->line);
    copy3(st.light, F->light);
    return st;
}

static style st_flat(const face_look *F, const float *rgb, float alpha, int outlined)
{
    style st = {.soft = F->soft, .alpha = alpha, .outline = outlined ? F->outline : 0};
    copy3(st.rgb, rgb);
    copy3(st.line_rgb, F->line);
    return st;
}

static void face_background(canvas *c, const face_look *F, rng *r)
{
    float a[3], b[3];
    if (!F->photo) {
        /* Cartoon: one plain colour. */
        hsv(a, urange(r, 0, 1), urange(r, 0.15f, 0.6f), urange(r, 0.35f, 0.97f));
        canvas_fill(c, a);
        return;
    }
    /* Photo: a vertical gradient with a clutter of out-of-focus objects on it. */
    hsv(a, urange(r, 0, 1), urange(r, 0.05f, 0.5f), urange(r, 0.25f, 0.95f));
    hsv(b, urange(r, 0, 1), urange(r, 0.05f, 0.5f), urange(r, 0.15f, 0.85f));
    for (int y = 0; y < c->h; y++) {
        float col[3];
        mix3(col, a, b, (float)y / c->h);
        for (int x = 0; x < c->w; x++) copy3(c->px + 3 * ((int64_t)y * c->w + x), col);
    }
    frame pix = frame_make(0, 0, 1, 0);
    /* A quarter are studio shots: a smooth backdrop with at most a couple of shapes. */
    int n = chance(r, 0.25) ? (int)rng_below(r, 3) : 6 + (int)rng_below(r, 10);
    for (int i = 0; i < n; i++) {
        float col[3];
        hsv(col, urange(r, 0, 1), urange(r, 0, 0.7f), urange(r, 0.1f, 1));
        style st = {.soft = 1, .alpha = urange(r, 0.5f, 1)};
        copy3(st.rgb, col);
        float x = urange(r, 0, c->w), y = urange(r, 0, c->h);
        float rx = urange(r, 0.03f, 0.3f) * c->w, ry = urange(r, 0.03f, 0.3f) * c->h;
        shape s = chance(r, 0.5) ? sh_ellipse(x, y, rx, ry) : sh_box(x, y, rx, ry, urange(r, 0, 8) * F->k);
        paint(c, &pix, &s, NULL, &st);
    }
    /* Depth of field: the background is blurred before the face goes on. */
    canvas_blur(c, (int)lrintf(urange(r, 2, 6) * F->k) + 1, 2);
}

static void face_body(canvas *c, const face_look *F, rng *r)
{
    float cloth[3], neck[3];
    hsv(cloth, urange(r, 0, 1), urange(r, 0, 0.8f), urange(r, 0.1f, 0.95f));
    scale3(neck, F->skin, 0.85f);
    shape body = sh_ellipse(0, urange(r, 1.95f, 2.2f), urange(r, 1.3f, 1.8f), 0.8f);
    shape neck_s = sh_box(0, 1.1f, urange(r, 0.3f, 0.4f), 0.5f, 0.05f);
    style st = st_flat(F, neck, 1, 1);
    paint(c, &F->f, &neck_s, NULL, &st);
    st = st_flat(F, cloth, 1, 1);
    paint(c, &F->f, &body, NULL, &st);
}

/* Hair behind the head: a cap around the skull, and for longer styles a curtain that falls to
 * the shoulders. Returns the cap ellipse (the fringe is cut from it later). */
static shape face_back_hair(canvas *c, const face_look *F, rng *r)
{
    int hs = (int)rng_below(r, 3); /* 0 short, 1 medium, 2 long */
    shape cap = sh_ellipse(0, urange(r, -0.2f, -0.1f), F->aspect + urange(r, 0.08f, 0.18f),
                           urange(r, 1.02f, 1.1f));
    style st = st_skin(F, F->hair);
    st.ambient = 0.7f;
    if (hs > 0) {
        float bottom = hs == 1 ? urange(r, 0.3f, 0.6f) : urange(r, 0.9f, 1.4f);
        shape curtain = sh_box(0, (cap.cy + bottom) / 2, cap.rx + urange(r, 0, 0.06f),
                               (bottom - cap.cy) / 2, 0.25f);
        style sc = st;
        sc.sphere = 0;
        scale3(sc.rgb, F->hair, 0.92f);
        paint(c, &F->f, &curtain, NULL, &sc);
    }
    paint(c, &F->f, &cap, NULL, &st);
    return cap;
}

static void face_head(canvas *c, const face_look *F, rng *r)
{
    float ear_v = urange(r, -0.12f, 0.0f);
    style st = st_skin(F, F->skin);
    for (int side = -1; side <= 1; side += 2) {
        shape ear = sh_ellipse(side * F->aspect * 0.97f, ear_v, 0.11f, 0.19f);
        paint(c, &F->f, &ear, NULL, &st);
    }
    shape head = sh_ellipse(0, 0, F->aspect, 1);
    paint(c, &F->f, &head, NULL, &st);
}

/* Old faces: forehead lines, crow's feet, eye bags and nasolabial folds. Which groups appear
 * and how dark they are varies, so age is a matter of degree, as in photos. Forehead lines are
 * often hidden by a fringe or hat, so at least one of the other three groups is always drawn. */
static void wrinkle_forehead(canvas *c, const face_look *F, const style *st, float width, rng *r)
{
    int n = 2 + (int)rng_below(r, 2);
    for (int i = 0; i < n; i++) {
        float v = -0.5f - 0.1f * i, pts[10];
        for (int j = 0; j < 5; j++) {
            pts[2 * j] = (j - 2) * 0.17f;
            pts[2 * j + 1] = v + urange(r, -0.02f, 0.02f) + 0.03f * fabsf(j - 2.0f);
        }
        shape s = sh_line(5, pts, width);
        paint(c, &F->f, &s, NULL, st);
    }
}

static void wrinkle_crows_feet(canvas *c, const face_look *F, const style *st, float width)
{
    for (int side = -1; side <= 1; side += 2) {
        float u0 = side * (F->eye_u + 0.15f), v0 = F->eye_v;
        for (int j = -1; j <= 1; j++) {
            float pts[4] = {u0, v0 + 0.02f * j, u0 + side * 0.1f, v0 + 0.06f * j};
            shape s = sh_line(2, pts, width * 0.8f);
            paint(c, &F->f, &s, NULL, st);
        }
    }
}

static void wrinkle_eye_bags(canvas *c, const face_look *F, const style *st, float width)
{
    for (int side = -1; side <= 1; side += 2) {
        shape s = sh_arc(side * F->eye_u, F->eye_v + 0.11f, 0.1f, -0.03f, width * 0.9f);
        paint(c, &F->f, &s, NULL, st);
    }
}

static void wrinkle_folds(canvas *c, const face_look *F, const style *st, float width)
{
    for (int side = -1; side <= 1; side += 2) {
        float pts[6] = {side * 0.15f, 0.14f, side * (F->mouth_w * 0.9f + 0.07f), 0.34f,
                        side * (F->mouth_w + 0.06f), F->mouth_v + 0.1f};
        shape s = sh_line(3, pts, width);
        paint(c, &F->f, &s, NULL, st);
    }
}

static void face_wrinkles(canvas *c, const face_look *F, rng *r)
{
    float col[3];
    float alpha = F->photo ? urange(r, 0.45f, 0.85f) : 0.9f;
    if (F->photo) scale3(col, F->skin, 0.62f);
    else copy3(col, F->line);
    float width = F->photo ? urange(r, 0.02f, 0.035f) : fmaxf(0.022f, 1.6f * F->k / F->f.scale);
    style st = st_flat(F, col, alpha, 0);
    if (chance(r, 0.6)) wrinkle_forehead(c, F, &st, width, r);
    int groups = 1 + (int)rng_below(r, 7); /* a non-empty subset of the other three */
    if (groups & 1) wrinkle_crows_feet(c, F, &st, width);
    if (groups & 2) wrinkle_eye_bags(c, F, &st, width);
    if (groups & 4) wrinkle_folds(c, F, &st, width);
}

static void face_eyes(canvas *c, const face_look *F, rng *r)
{
    float white[3] = {0.96f, 0.96f, 0.94f}, iris[3], pupil[3] = {0.05f, 0.04f, 0.04f};
    static const float IRIS[4][3] = {
        {0.30f, 0.18f, 0.08f}, {0.25f, 0.45f, 0.70f}, {0.30f, 0.50f, 0.30f}, {0.15f, 0.10f, 0.06f}};
    copy3(iris, IRIS[rng_below(r, 4)]);
    float rx = F->photo ? urange(r, 0.11f, 0.14f) : urange(r, 0.11f, 0.15f);
    float ry = F->photo ? rx * urange(r, 0.5f, 0.62f) : rx * urange(r, 0.7f, 1.0f);
    float look = urange(r, -0.03f, 0.03f);
    for (int side = -1; side <= 1; side += 2) {
        float u = side * F->eye_u, v = F->eye_v;
        shape eye = sh_ellipse(u, v, rx, ry);
        style st = st_flat(F, white, 1, 1);
        if (F->photo) scale3(st.rgb, white, 0.85f);
        paint(c, &F->f, &eye, NULL, &st);
        float ir = F->photo ? ry * 0.95f : ry * 0.6f;
        shape is = sh_ellipse(u + look, v, ir, ir);
        st = st_flat(F, iris, 1, 0);
        paint(c, &F->f, &is, &eye, &st);
        shape ps = sh_ellipse(u + look, v, ir * 0.5f, ir * 0.5f);
        st = st_flat(F, pupil, 1, 0);
        paint(c, &F->f, &ps, &eye, &st);
        if (F->photo) { /* upper lid: a dark line along the top of the eye */
            shape lid = sh_arc(u, v - ry * 0.7f, rx * 1.05f, ry * 0.6f, 0.025f);
            style sl = st_flat(F, pupil, 0.7f, 0);
            paint(c, &F->f, &lid, NULL, &sl);
        }
        /* Eyebrow: an arched stroke; its tilt is a nuisance (not an expression label). */
        float bv = v - urange(r, 0.15f, 0.2f), tilt = urange(r, -0.03f, 0.03f);
        float pts[6] = {u - side * 0.13f, bv + 0.02f + tilt, u + side * 0.0f, bv - 0.025f,
                        u + side * 0.14f, bv + 0.015f - tilt};
        shape brow = sh_line(3, pts, urange(r, 0.04f, 0.065f));
        st = st_flat(F, F->brow, 1, 0);
        paint(c, &F->f, &brow, NULL, &st);
    }
}

static void face_nose(canvas *c, const face_look *F, rng *r)
{
    float v = urange(r, 0.2f, 0.27f);
    if (F->photo) {
        float shade[3];
        scale3(shade, F->skin, 0.55f);
        style st = st_flat(F, shade, 0.45f, 0);
        st.soft = F->soft * 1.5f;
        for (int side = -1; side <= 1; side += 2) {
            shape n = sh_ellipse(side * 0.055f, v, 0.035f, 0.022f);
            paint(c, &F->f, &n, NULL, &st);
        }
        float side = F->light[0] > 0 ? -1.0f : 1.0f; /* shadow on the side away from the light */
        float pts[4] = {side * 0.05f, -0.05f, side * 0.08f, v - 0.04f};
        shape ridge = sh_line(2, pts, 0.04f);
        st.alpha = urange(r, 0.15f, 0.5f);
        paint(c, &F->f, &ridge, NULL, &st);
        return;
    }
    /* Cartoon noses come in three styles (a nuisance, not a label): a hooked line, a small
     * blob, or none at all. */
    int kind = (int)rng_below(r, 4);
    style st = st_flat(F, F->line, 1, 0);
    if (kind <= 1) {
        float pts[6] = {0.01f, v - 0.16f, -0.05f, v, 0.03f, v + 0.01f};
        shape n = sh_line(3, pts, fmaxf(0.025f, 1.5f * F->k / F->f.scale));
        paint(c, &F->f, &n, NULL, &st);
    } else if (kind == 2) {
        float col[3];
        scale3(col, F->skin, 0.8f);
        st = st_flat(F, col, 1, 1);
        shape n = sh_ellipse(0, v - 0.02f, 0.05f, 0.04f);
        paint(c, &F->f, &n, NULL, &st);
    }
}

/* The mouth. Neutral: an almost straight stroke (a faint droop or lift, never a smile).
 * Smiling: corners raised by a varying amount; half the smiles are open (dark inside, teeth). */
static void face_mouth(canvas *c, const face_look *F, const face_attr *a, rng *r)
{
    float lip[3], dark[3] = {0.30f, 0.07f, 0.07f}, teeth[3] = {0.95f, 0.94f, 0.88f};
    if (F->photo) {
        set3(lip, F->skin[0] * 0.72f, F->skin[1] * 0.4f, F->skin[2] * 0.4f);
        jitter3(lip, r, 0.05f);
    } else {
        copy3(lip, F->line);
    }
    /* A smile also pulls the mouth wider. */
    float w = a->smiling > 0 ? F->mouth_w * urange(r, 1.05f, 1.2f) : F->mouth_w, v = F->mouth_v;
    float thick = F->photo ? urange(r, 0.04f, 0.065f) : fmaxf(0.03f, 2.0f * F->k / F->f.scale);
    if (a->smiling < 0) {
        shape m = sh_arc(0, v, w, urange(r, -0.03f, 0.012f), thick);
        style st = st_flat(F, lip, 1, 0);
        paint(c, &F->f, &m, NULL, &st);
        return;
    }
    float depth = urange(r, 0.06f, 0.2f);
    if (chance(r, 0.35)) {
        shape m = sh_arc(0, v, w, depth, thick);
        style st = st_flat(F, lip, 1, 0);
        paint(c, &F->f, &m, NULL, &st);
        return;
    }
    /* Open smile: corners at v - depth, the upper lip line at v, the lower lip further down. */
    float open = urange(r, 0.06f, 0.16f);
    shape m = sh_band(0, v - depth, w, depth, depth + open);
    style st = st_flat(F, dark, 1, 1);
    paint(c, &F->f, &m, NULL, &st);
    shape t = sh_band(0, v - depth, w, depth, depth + open * urange(r, 0.35f, 0.55f));
    st = st_flat(F, teeth, 1, 0);
    paint(c, &F->f, &t, &m, &st);
    if (F->photo) {
        shape upper = sh_arc(0, v, w, depth, thick * 0.6f);
        style su = st_flat(F, lip, 1, 0);
        paint(c, &F->f, &upper, NULL, &su);
    }
}

/* Fringe: the part of the hair cap above a tilted line across the forehead. */
static void face_fringe(canvas *c, const face_look *F, const shape *cap, rng *r)
{
    float v0 = urange(r, -0.62f, -0.4f), tilt = urange(r, -0.35f, 0.35f);
    shape cut = sh_half(0, v0, -tilt, 1); /* inside: above the line */
    style st = st_skin(F, F->hair);
    st.ambient = 0.7f;
    paint(c, &F->f, cap, &cut, &st);
}

/* Hat (hair colour unknown): a crown over the whole hair line, often with a brim. */
static void face_hat(canvas *c, const face_look *F, rng *r)
{
    float col[3];
    hsv(col, urange(r, 0, 1), urange(r, 0.1f, 0.9f), urange(r, 0.15f, 0.9f));
    float rim = urange(r, -0.5f, -0.36f);
    shape crown = sh_ellipse(0, rim, F->aspect + urange(r, 0.06f, 0.14f), urange(r, 0.72f, 0.9f));
    shape cut = sh_half(0, rim + 0.02f, 0, 1);
    style st = st_skin(F, col);
    st.ambient = 0.75f;
    paint(c, &F->f, &crown, &cut, &st);
    if (chance(r, 0.6)) {
        shape brim = sh_box(urange(r, -0.1f, 0.1f), rim, crown.rx + urange(r, 0.05f, 0.3f),
                            urange(r, 0.04f, 0.07f), 0.03f);
        scale3(st.rgb, col, 0.85f);
        st.sphere = 0;
        paint(c, &F->f, &brim, NULL, &st);
    }
}


/* Eyeglasses: two frames around the eyes, a bridge and the temples. Frame thickness, lens
 * shape and colour vary; some are sunglasses (dark lenses). */
static void face_glasses(canvas *c, const face_look *F, rng *r)
{
    static const float FRAME[5][3] = {{0.05f, 0.05f, 0.05f}, {0.30f, 0.18f, 0.08f},
                                      {0.10f, 0.12f, 0.30f}, {0.75f, 0.62f, 0.30f},
                                      {0.60f, 0.60f, 0.62f}};
    float col[3], lens[3] = {0.08f, 0.08f, 0.1f};
    copy3(col, FRAME[rng_below(r, 5)]);
    float thick = urange(r, 0.035f, 0.09f);
    float rx = urange(r, 0.16f, 0.21f), ry = urange(r, 0.11f, 0.16f);
    float round = urange(r, 0.03f, ry), v = F->eye_v + urange(r, -0.01f, 0.03f);
    int sun = chance(r, 0.15);
    style st = st_flat(F, col, 1, 1);
    style sl = st_flat(F, lens, 0.85f, 0);
    for (int side = -1; side <= 1; side += 2) {
        float u = side * F->eye_u;
        shape lens_s = sh_box(u, v, rx, ry, round);
        if (sun) paint(c, &F->f, &lens_s, NULL, &sl);
        shape rim = sh_ring(lens_s, thick);
        paint(c, &F->f, &rim, NULL, &st);
        /* Temple: from the outer edge of the frame back to the ear. */
        float tp[4] = {side * (F->eye_u + rx), v - ry * 0.4f, side * F->aspect * 0.98f, v - ry * 0.55f};
        shape temple = sh_line(2, tp, thick * 0.8f);
        paint(c, &F->f, &temple, NULL, &st);
    }
    float in = F->eye_u - rx;
    float bp[6] = {-in, v - ry * 0.3f, 0, v - ry * 0.45f, in, v - ry * 0.3f};
    shape bridge = sh_line(3, bp, thick * 0.9f);
    paint(c, &F->f, &bridge, NULL, &st);
}

/* What a camera adds: soft focus, exposure and white balance, vignetting, sensor grain. */
static void photo_finish(canvas *c, rng *r)
{
    float k = c->w / 256.0f;
    canvas_blur(c, (int)fmaxf(1, lrintf(k)), 1);
    float gain = urange(r, 0.85f, 1.12f);
    float wb[3] = {gain * (1 + urange(r, -0.06f, 0.06f)), gain, gain * (1 + urange(r, -0.06f, 0.06f))};
    float vig = chance(r, 0.5) ? urange(r, 0, 0.35f) : 0;
    for (int y = 0; y < c->h; y++) {
        float dy = (y + 0.5f) / c->h - 0.5f;
        for (int x = 0; x < c->w; x++) {
            float dx = (x + 0.5f) / c->w - 0.5f;
            float fall = 1 - vig * 2 * (dx * dx + dy * dy);
            float *p = c->px + 3 * ((int64_t)y * c->w + x);
            for (int ch = 0; ch < 3; ch++) p[ch] *= wb[ch] * fall;
        }
    }
    add_grain(c, r, urange(r, 0.015f, 0.045f));
}

void draw_face(canvas *c, const face_attr *a, rng *r)
{
    face_look F = {0};
    F.photo = a->human > 0;
    F.k = c->w / 256.0f;
    /* Pose and size: nuisance variation that a pixel classifier has to see through. */
    float scale = 70 * F.k * urange(r, 0.93f, 1.07f);
    float cx = c->w * (0.5f + clampf(0.015f * (float)rng_normal(r), -0.05f, 0.05f));
    float cy = c->h * (0.53f + clampf(0.015f * (float)rng_normal(r), -0.05f, 0.05f));
    float angle = clampf(0.05f * (float)rng_normal(r), -0.15f, 0.15f);
    F.f = frame_make(cx, cy, scale, angle);
    F.aspect = urange(r, 0.68f, 0.8f);

    copy3(F.skin, SKIN_RGB[rng_below(r, 6)]);
    jitter3(F.skin, r, 0.03f);
    if (a->young < 0) { /* old skin: paler and greyer */
        desaturate(F.skin, urange(r, 0.25f, 0.5f));
        float grey[3] = {0.8f, 0.78f, 0.76f};
        mix3(F.skin, F.skin, grey, urange(r, 0.05f, 0.2f));
    }
    if (a->hair > 0) {
        copy3(F.hair, HAIR_RGB[a->hair][rng_below(r, 2)]);
        jitter3(F.hair, r, 0.035f);
        scale3(F.hair, F.hair, urange(r, 0.92f, 1.08f));
        scale3(F.brow, F.hair, a->hair == 1 ? 0.72f : 0.8f);
    } else { /* bald or hat: eyebrows still need a colour */
        if (a->young < 0) set3(F.brow, 0.55f, 0.54f, 0.52f);
        else set3(F.brow, 0.22f, 0.15f, 0.1f);
        jitter3(F.brow, r, 0.05f);
    }
    set3(F.line, 0.08f, 0.07f, 0.07f);
    jitter3(F.line, r, 0.04f);
    F.outline = F.photo ? 0 : urange(r, 1.0f, 3.0f) * F.k;
    F.soft = F.photo ? urange(r, 1.3f, 2.4f) * F.k : 1.0f;
    set3(F.light, urange(r, -0.6f, 0.6f), urange(r, -0.7f, -0.1f), 0.8f);
    F.eye_u = urange(r, 0.29f, 0.34f);
    F.eye_v = urange(r, -0.16f, -0.06f);
    F.mouth_v = urange(r, 0.45f, 0.5f);
    F.mouth_w = urange(r, 0.18f, 0.28f);

    face_background(c, &F, r);
    face_body(c, &F, r);
    shape cap = {0};
    if (a->hair > 0) cap = face_back_hair(c, &F, r);
    face_head(c, &F, r);
    if (a->young < 0) face_wrinkles(c, &F, r);
    face_eyes(c, &F, r);
    face_nose(c, &F, r);
    face_mouth(c, &F, a, r);
    if (a->hair > 0) face_fringe(c, &F, &cap, r);
    if (a->hair < 0) face_hat(c, &F, r);
    if (a->glasses > 0) face_glasses(c, &F, r);
    if (F.photo) photo_finish(c, r);
}

/* ------------------------------------------------------------------ noise pictures */

/* Sky over the whole canvas: a vertical gradient, optionally with fbm clouds. */
static void noise_sky(canvas *c, rng *r, float *horizon_rgb)
{
    float top[3], low[3], cloud[3];
    hsv(top, urange(r, 0.52f, 0.66f), urange(r, 0.05f, 0.5f), urange(r, 0.45f, 0.9f));
    hsv(low, chance(r, 0.2) ? urange(r, 0.02f, 0.12f) : urange(r, 0.5f, 0.68f),
        urange(r, 0, 0.3f), urange(r, 0.7f, 1));
    copy3(horizon_rgb, low);
    float gamma = urange(r, 0.5f, 1.5f);
    for (int y = 0; y < c->h; y++) {
        float col[3];
        mix3(col, top, low, powf((y + 0.5f) / c->h, gamma));
        for (int x = 0; x < c->w; x++) copy3(c->px + 3 * ((int64_t)y * c->w + x), col);
    }
    if (chance(r, 0.3)) return; /* clear sky */
    float v = urange(r, 0.6f, 1);
    set3(cloud, v, v, v * urange(r, 0.95f, 1.02f));
    float *n = xmalloc(sizeof(float) * c->w * c->h);
    fbm(n, c->w, c->h, r, 2 + (int)rng_below(r, 3), 5, urange(r, 0.45f, 0.6f));
    float th = urange(r, 0.4f, 0.6f), width = urange(r, 0.05f, 0.25f), dark = urange(r, 0, 0.4f);
    for (int i = 0; i < c->w * c->h; i++) {
        float t = clampf((n[i] - th) / width, 0, 1);
        if (t <= 0) continue;
        float col[3];
        scale3(col, cloud, 1 - dark * (1 - t)); /* thin cloud edges darker, like undersides */
        mix3(c->px + 3 * i, c->px + 3 * i, col, smooth01(t));
    }
    free(n);
}

/* A smooth two-colour gradient, linear in a random direction or radial, faintly mottled. */
static void noise_gradient(canvas *c, rng *r)
{
    float a[3], b[3];
    hsv(a, urange(r, 0, 1), urange(r, 0, 0.4f), urange(r, 0.1f, 1));
    hsv(b, urange(r, 0, 1), urange(r, 0, 0.4f), urange(r, 0.1f, 1));
    float ang = urange(r, 0, 6.2832f), dx = cosf(ang), dy = sinf(ang);
    int radial = chance(r, 0.3);
    float *n = xmalloc(sizeof(float) * c->w * c->h);
    fbm(n, c->w, c->h, r, 2, 4, 0.5f);
    float mottle = urange(r, 0, 0.15f);
    for (int y = 0; y < c->h; y++) {
        for (int x = 0; x < c->w; x++) {
            float fx = (x + 0.5f) / c->w - 0.5f, fy = (y + 0.5f) / c->h - 0.5f;
            float t = radial ? sqrtf(fx * fx + fy * fy) * 1.41f : fx * dx + fy * dy + 0.5f;
            float *p = c->px + 3 * ((int64_t)y * c->w + x);
            mix3(p, a, b, clampf(t, 0, 1));
            scale3(p, p, 1 + mottle * (n[y * c->w + x] - 0.5f));
        }
    }
    free(n);
}

/* Midpoint displacement: a ridge profile of n = 2^k + 1 heights in roughly [-amp, amp]. */
static void ridge_profile(float *h, int n, rng *r, float amp, float rough)
{
    h[0] = urange(r, -amp, amp);
    h[n - 1] = urange(r, -amp, amp);
    for (int step = n - 1; step > 1; step /= 2, amp *= rough)
        for (int i = step / 2; i < n; i += step)
            h[i] = 0.5f * (h[i - step / 2] + h[i + step / 2]) + urange(r, -amp, amp);
}

/* Fills everything below base + profile(x) (in pixels), with an anti-aliased ridge line and a
 * darkening towards the bottom. With `snow`, the highest peaks get white caps: a peak that
 * rises a height h above the snow line is white for about h pixels down from its top. */
static void fill_below(canvas *c, const float *prof, int n, float base, const float *rgb,
                       float shade, int snow)
{
    float white[3] = {0.95f, 0.95f, 0.97f}, top = 1e30f;
    for (int i = 0; i < n; i++) top = fminf(top, base + prof[i]);
    float snowline = base - 0.5f * (base - top);
    for (int x = 0; x < c->w; x++) {
        float fx = (x + 0.5f) * (n - 1) / c->w;
        int i = (int)fx;
        if (i >= n - 1) i = n - 2;
        float yr = base + prof[i] + (prof[i + 1] - prof[i]) * (fx - i);
        float cap = snow && yr < snowline ? snowline - yr : 0;
        int y0 = (int)fmaxf(0, floorf(yr));
        for (int y = y0; y < c->h; y++) {
            float cover = clampf(y + 1 - yr, 0, 1);
            float col[3], depth = (y - yr) / c->h;
            scale3(col, rgb, 1 - shade * clampf(depth * 2, 0, 1));
            if (y - yr < cap) mix3(col, col, white, 0.85f);
            float *p = c->px + 3 * ((int64_t)y * c->w + x);
            mix3(p, p, col, cover);
        }
    }
}

/* Layers of mountain silhouettes, far ones lighter (haze), near ones darker. */
static void noise_mountains(canvas *c, rng *r, const float *haze)
{
    enum { N = 129 };
    float prof[N], rock[3];
    int layers = 2 + (int)rng_below(r, 3);
    hsv(rock, urange(r, 0.05f, 0.7f), urange(r, 0, 0.3f), urange(r, 0.2f, 0.6f));
    for (int l = 0; l < layers; l++) {
        float near = (l + 1.0f) / layers; /* 1 = nearest */
        float base = c->h * (0.35f + 0.4f * near * urange(r, 0.8f, 1.1f));
        ridge_profile(prof, N, r, c->h * urange(r, 0.06f, 0.2f), urange(r, 0.45f, 0.62f));
        float col[3];
        mix3(col, haze, rock, 0.35f + 0.65f * near);
        scale3(col, col, 1 - 0.3f * near);
        int snow = l == 0 && chance(r, 0.4);
        fill_below(c, prof, N, base, col, urange(r, 0, 0.4f), snow);
    }
}

/* Flat land under a horizon: textured fields, sometimes a tree line and furrows. */
static void noise_land(canvas *c, rng *r)
{
    enum { N = 129 };
    float ground[3], trees[3], prof[N];
    hsv(ground, urange(r, 0.08f, 0.35f), urange(r, 0.1f, 0.5f), urange(r, 0.25f, 0.7f));
    float horizon = c->h * urange(r, 0.35f, 0.65f);
    if (chance(r, 0.6)) { /* distant tree line or low hills */
        hsv(trees, urange(r, 0.15f, 0.4f), urange(r, 0.1f, 0.4f), urange(r, 0.1f, 0.35f));
        ridge_profile(prof, N, r, c->h * urange(r, 0.01f, 0.04f), urange(r, 0.6f, 0.8f));
        for (int i = 0; i < N; i++) prof[i] = -fabsf(prof[i]);
        fill_below(c, prof, N, horizon, trees, 0, 0);
        horizon += c->h * 0.01f;
    }
    float *n = xmalloc(sizeof(float) * c->w * c->h);
    fbm(n, c->w, c->h, r, 3, 5, 0.55f);
    float furrows = chance(r, 0.4) ? urange(r, 4, 12) : 0;
    int y0 = (int)horizon;
    for (int y = y0 < 0 ? 0 : y0; y < c->h; y++) {
        float depth = (y + 1 - horizon) / (c->h - horizon + 1); /* 0 at horizon, 1 at bottom */
        float cover = clampf(y + 1 - horizon, 0, 1);
        for (int x = 0; x < c->w; x++) {
            float col[3], t = n[y * c->w + x];
            scale3(col, ground, 0.7f + 0.6f * t);
            if (furrows > 0) { /* rows converging on a vanishing point */
                float fx = ((x + 0.5f) / c->w - 0.5f) / fmaxf(depth, 0.02f);
                scale3(col, col, 1 + 0.08f * sinf(fx * furrows * 6.2832f));
            }
            float *p = c->px + 3 * ((int64_t)y * c->w + x);
            mix3(p, p, col, cover);
        }
    }
    free(n);
}

void draw_noise(canvas *c, rng *r)
{
    float haze[3];
    int kind = (int)rng_below(r, 4);
    switch (kind) {
    case 0: noise_sky(c, r, haze); break;
    case 1: noise_gradient(c, r); break;
    case 2: noise_sky(c, r, haze); noise_mountains(c, r, haze); break;
    default: noise_sky(c, r, haze); noise_land(c, r); break;
    }
    /* Like the AMLS noise: mostly grey or washed out; a quarter fully grey. */
    float keep = chance(r, 0.25) ? 0 : urange(r, 0.1f, 0.5f);
    for (int64_t i = 0; i < (int64_t)c->w * c->h; i++) desaturate(c->px + 3 * i, 1 - keep);
    if (chance(r, 0.5)) canvas_blur(c, (int)fmaxf(1, lrintf(c->w / 256.0f)), 1);
    add_grain(c, r, urange(r, 0.005f, 0.03f));
}

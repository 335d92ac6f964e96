/* synth_draw.h - procedural drawing for the synth stage: a small float canvas, signed-distance
 * shapes painted with anti-aliased edges, and the two scenes the dataset needs (a face whose
 * attributes are given, and a "noise" picture: sky, gradient, mountains, landscape).
 *
 * Everything is deterministic: the only randomness comes from the rng passed in, consumed in
 * a fixed order, so the same rng state always gives the same pixels. See docs/synth.md. */
#ifndef FP_SYNTH_DRAW_H
#define FP_SYNTH_DRAW_H

#include <stdint.h>

#include "rng.h"

/* ---- canvas ---- */

/* RGB, 3 floats per pixel, nominally in [0, 1] (clamped only on conversion to bytes). */
typedef struct {
    int w, h;
    float *px;
} canvas;

canvas canvas_new(int w, int h);
void canvas_free(canvas *c);
void canvas_fill(canvas *c, const float rgb[3]);
/* Box blur with the given radius in pixels, repeated `passes` times (3 passes ~ gaussian). */
void canvas_blur(canvas *c, int radius, int passes);
/* Rounds to 8-bit RGB (w*h*3 bytes). */
void canvas_to_rgb8(const canvas *c, uint8_t *out);

/* ---- shapes in a local frame ---- */

/* A similarity transform: image point = (cx, cy) + scale * R(angle) * (u, v).
 * Faces are drawn in "face units" (the face half-height is 1), so pose and size are just a
 * different frame. */
typedef struct {
    float cx, cy, scale, cs, sn;
} frame;

frame frame_make(float cx, float cy, float scale, float angle);

enum { SH_ELLIPSE, SH_BOX, SH_LINE, SH_BAND, SH_HALF };

#define SH_MAXPTS 24

/* One shape; the signed distance is negative inside. Use the constructors below. */
typedef struct {
    int kind;
    float cx, cy, rx, ry, round;   /* ellipse; box (rx, ry half sizes, round corner radius) */
    float hw;                      /* line: half the stroke width */
    int n;                         /* line: number of points */
    float pts[2 * SH_MAXPTS];      /* line: u0 v0 u1 v1 ... */
    float w, ctop, cbot;           /* band: between v = cy + ctop*(1-(u/w)^2) and ...cbot...  */
    float nu, nv;                  /* half plane: inside where nu*(u-cx) + nv*(v-cy) < 0 */
    float ring;                    /* > 0: only a band this wide around the edge (frames) */
} shape;

shape sh_ellipse(float cx, float cy, float rx, float ry);
shape sh_box(float cx, float cy, float rx, float ry, float round);
/* Polyline through n points (u, v pairs), stroke width `width`. */
shape sh_line(int n, const float *pts, float width);
/* Parabolic stroke from (cx - w, cy - depth) through (cx, cy) to (cx + w, cy - depth):
 * depth > 0 bends the ends upwards (a smile), depth < 0 downwards. */
shape sh_arc(float cx, float cy, float w, float depth, float width);
/* The region between two such parabolas (an open mouth): top at depth ctop, bottom cbot. */
shape sh_band(float cx, float cy, float w, float ctop, float cbot);
/* Half plane through (cx, cy); inside is the side the normal (nu, nv) points away from. */
shape sh_half(float cx, float cy, float nu, float nv);
/* The same shape reduced to a band of the given width centred on its edge. */
shape sh_ring(shape s, float width);

/* How a shape is painted. Zero-initialise, then set what you need. */
typedef struct {
    float rgb[3];
    float alpha;        /* opacity of the fill, 0..1 (0 is treated as 1) */
    float soft;         /* edge ramp width in pixels; 1 = plain anti-aliasing */
    float outline;      /* dark outline width in pixels outside the edge (cartoons), 0 none */
    float line_rgb[3];  /* outline colour */
    int sphere;         /* 1: shade as a lit dome over the shape's ellipse (photo faces) */
    float light[3];     /* light direction for sphere shading (u, v, towards viewer) */
    float ambient;      /* sphere shading: brightness of the unlit side */
} style;

/* Paints shape s (optionally intersected with clip) onto c through frame f. */
void paint(canvas *c, const frame *f, const shape *s, const shape *clip, const style *st);

/* ---- scenes ---- */

/* The labels of one face, with the CSV's values: hair -1 (hat) or 0..5, binaries -1/1. */
typedef struct {
    int hair, glasses, smiling, young, human;
} face_attr;

/* Draws a face with the given attributes; everything else (pose, size, skin tone, hair style,
 * background, lighting...) is drawn from r. */
void draw_face(canvas *c, const face_attr *a, rng *r);
/* Draws a face-free picture like the AMLS noise images: mostly grey skies, gradients,
 * mountain silhouettes and landscapes. */
void draw_noise(canvas *c, rng *r);

#endif

/* adam.h - the Adam update (Kingma & Ba 2015) on a flat array of parameters.
 *
 * Darknet's CPU build trains with SGD + momentum only (its `adam=1` key reaches the GPU path
 * alone); dn_fast.c calls this from its update_convolutional_layer / update_connected_layer
 * replacements so that `adam=1` in a cfg means Adam on the CPU too. No Darknet types here. */
#ifndef FP_ADAM_H
#define FP_ADAM_H

typedef struct {
    float lr;       /* step size alpha */
    float b1, b2;   /* decay rates of the first and second moment estimates */
    float eps;      /* added to sqrt(v_hat) */
    float decay;    /* L2 weight decay coefficient (0 = none), added to the gradient */
    int t;          /* step number, 1 for the first update (bias correction) */
} adam_args;

/* One Adam step on n parameters w with moments m, v.
 * `upd` holds Darknet's accumulated update: MINUS the gradient of the summed batch loss, so
 * the mean gradient is g = -upd / batch (+ decay * w). Afterwards upd is zeroed (Darknet's
 * momentum SGD keeps a scaled copy there; Adam keeps its memory in m and v instead). */
void adam_step(float *w, float *upd, float *m, float *v, int n, int batch, const adam_args *a);

#endif

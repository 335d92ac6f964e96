/* adam.c - see adam.h.
 *
 * With g the mean gradient of the loss over the batch:
 *     m <- b1 m + (1 - b1) g               first moment (running mean of g)
 *     v <- b2 v + (1 - b2) g^2             second moment (running mean of g^2)
 *     m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)     (both start at 0: unbias them)
 *     w <- w - lr * m_hat / (sqrt(v_hat) + eps)
 * The bias corrections are folded into one step size, as in the paper's section 2:
 *     lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t),  w <- w - lr_t * m / (sqrt(v) + eps_hat)
 * with eps_hat = eps * sqrt(1 - b2^t), which gives exactly the formula above. */
#include "adam.h"

#include <math.h>

/* One pass over up to a million weights per layer and step: vectorized (-O3, no errno from
 * sqrtf, so it becomes one instruction), for AVX-512, AVX2 or baseline x86-64 as the CPU
 * allows. The arithmetic per element is the same in every version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O3", "no-math-errno"), target_clones("avx512f", "avx2", "default")))
#endif
void adam_step(float *w, float *upd, float *m, float *v, int n, int batch, const adam_args *a)
{
    double c1 = 1.0 - pow(a->b1, a->t), c2 = 1.0 - pow(a->b2, a->t);
    float lr_t = (float)(a->lr * sqrt(c2) / c1);
    float eps_hat = (float)(a->eps * sqrt(c2));
    float inv_batch = 1.0f / (float)batch, b1 = a->b1, b2 = a->b2, decay = a->decay;
    for (int i = 0; i < n; i++) {
        float g = -upd[i] * inv_batch + decay * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        w[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps_hat);
        upd[i] = 0.0f;
    }
}

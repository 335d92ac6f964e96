/* rng.h - seeded pseudo-random numbers (xoshiro256**, seeded through splitmix64).
 * Every random choice in the project goes through one of these with an explicit seed, so the
 * same seed gives byte-identical results on every machine. Not for cryptography. */
#ifndef FP_RNG_H
#define FP_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } rng;

void rng_seed(rng *r, uint64_t seed);
/* Independent stream number `k` derived from a seed (for threads / restarts). */
void rng_seed_stream(rng *r, uint64_t seed, uint64_t k);
uint64_t rng_u64(rng *r);
double rng_uniform(rng *r);                  /* [0, 1) with 53 random bits */
uint64_t rng_below(rng *r, uint64_t n);      /* uniform integer in [0, n), unbiased */
double rng_normal(rng *r);                   /* standard normal (Box-Muller, no cached pair) */
void rng_shuffle(rng *r, int64_t *a, int64_t n);  /* Fisher-Yates */

#endif

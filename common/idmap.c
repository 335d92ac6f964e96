/* idmap.c - FNV-1a hashing with linear probing, grown at 50% load. */
#include "idmap.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void idmap_init(idmap *m)
{
    m->cap = 64;
    m->n = 0;
    m->keys = xcalloc((size_t)m->cap, sizeof(char *));
    m->vals = xcalloc((size_t)m->cap, sizeof(int64_t));
}

static int64_t slot(const idmap *m, const char *key)
{
    int64_t i = (int64_t)(hash(key) & (uint64_t)(m->cap - 1));
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
    return i;
}

static void grow(idmap *m)
{
    idmap big = {xcalloc((size_t)m->cap * 2, sizeof(char *)),
                 xcalloc((size_t)m->cap * 2, sizeof(int64_t)), m->cap * 2, m->n};
    for (int64_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            int64_t j = slot(&big, m->keys[i]);
            big.keys[j] = m->keys[i];
            big.vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    *m = big;
}

int64_t idmap_put(idmap *m, const char *key, int64_t val)
{
    if (2 * (m->n + 1) > m->cap) grow(m);
    int64_t i = slot(m, key);
    if (m->keys[i]) return m->vals[i];
    m->keys[i] = xstrdup(key);
    m->vals[i] = val;
    m->n++;
    return -1;
}

int64_t idmap_get(const idmap *m, const char *key)
{
    int64_t i = slot(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

void idmap_free(idmap *m)
{
    for (int64_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

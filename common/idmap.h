/* idmap.h - a string -> index hash map (open addressing), for joining rows by id. */
#ifndef FP_IDMAP_H
#define FP_IDMAP_H

#include <stdint.h>

typedef struct {
    char **keys;
    int64_t *vals;
    int64_t cap, n;
} idmap;

void idmap_init(idmap *m);
/* Inserts key -> val. Returns -1 if inserted, or the existing value if key was present
 * (in which case nothing changes). The key is copied. */
int64_t idmap_put(idmap *m, const char *key, int64_t val);
int64_t idmap_get(const idmap *m, const char *key);   /* -1 when absent */
void idmap_free(idmap *m);

#endif

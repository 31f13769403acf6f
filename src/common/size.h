/* Numbers given by people: "1024", "64K", "32G" (binary suffixes K, M, G, T). */
#ifndef MASCRI_COMMON_SIZE_H
#define MASCRI_COMMON_SIZE_H

#include <stdbool.h>
#include <stdint.h>

/* A decimal count with an optional K/M/G/T suffix (powers of 1024, "KiB"/"k" spellings
 * too); false on anything else, on overflow and on 0 when !allow_zero. */
bool mascri_parse_size(const char *s, bool allow_zero, uint64_t *out);

#endif

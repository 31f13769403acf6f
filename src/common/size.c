#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool mascri_parse_size(const char *s, bool allow_zero, uint64_t *out)
{
  if (s == NULL || !isdigit((unsigned char)s[0]))
    return false;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0)
    return false;
  unsigned shift = 0;
  if (*end) {
    static const char units[] = "KMGT";
    char u = (char)toupper((unsigned char)*end);
    const char *p = u ? strchr(units, u) : NULL;
    if (p == NULL)
      return false;
    shift = 10u * (unsigned)(p - units + 1);
    end++;
    if (*end && strcasecmp(end, "iB") != 0 && strcasecmp(end, "B") != 0)
      return false;
  }
  if (shift && v > (UINT64_MAX >> shift))
    return false;
  v <<= shift;
  if (v == 0 && !allow_zero)
    return false;
  *out = v;
  return true;
}

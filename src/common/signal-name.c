#include "common/signal-name.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int mascri_signal_parse(const char *s)
{
  if (!s || !s[0])
    return -1;
  if (s[0] >= '0' && s[0] <= '9') {
    int n = atoi(s);
    return n > 0 && n < 65 ? n : -1;
  }
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (int sig = 1; sig < 32; sig++) {
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev && strcasecmp(abbrev, s) == 0)
      return sig;
  }
  return -1;
}

/* Whether a signal sent now would reach a process, from /proc/PID/status.
 *
 * The kernel discards a signal sent from an ancestor PID namespace to the init of a PID
 * namespace when that init has the default disposition for it (only SIGKILL and SIGSTOP get
 * through). A container's init has just exec'ed its program when StartContainer returns;
 * `top` or `sh -c "trap ... TERM; ..."` install their handler a few milliseconds later. A stop
 * signal sent in that window is lost and the stop waits out its whole grace period. Callers
 * therefore hold the signal back while it would be discarded and send it once the program has
 * a handler (or ignores it): exactly once, never to a process that already handles it. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/signal-ready.h"

/* The value of "Key:\t..." in a /proc/PID/status text, or NULL. */
static const char *status_field(const char *text, const char *key)
{
  size_t klen = strlen(key);
  for (const char *line = text; line && *line;) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':')
      return line + klen + 1;
    line = strchr(line, '\n');
    if (line)
      line++;
  }
  return NULL;
}

static bool mask_has(const char *hex, int sig)
{
  if (!hex)
    return false;
  unsigned long long mask = strtoull(hex, NULL, 16);
  return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1ULL;
}

/* NSpid lists the pid in each namespace from the outermost in: the last one is 1 for the
 * init of its namespace (which only gets the signals it has a handler for, whoever sends
 * them). Kernels without NSpid (< 4.1) give false: nothing is held back. */
static bool is_ns_init(const char *nspid)
{
  if (!nspid)
    return false;
  const char *end = nspid + strcspn(nspid, "\n");
  const char *last = end;
  while (last > nspid && last[-1] != '\t' && last[-1] != ' ')
    last--;
  return end - last == 1 && *last == '1';
}

mascri_sig_reach_t mascri_sig_reach_of_status(const char *status, int sig)
{
  if (sig == SIGKILL || sig == SIGSTOP)
    return MASCRI_SIG_DELIVERED;
  if (mask_has(status_field(status, "SigCgt"), sig))
    return MASCRI_SIG_DELIVERED;
  if (mask_has(status_field(status, "SigIgn"), sig))
    return MASCRI_SIG_IGNORED;
  return is_ns_init(status_field(status, "NSpid")) ? MASCRI_SIG_DISCARDED : MASCRI_SIG_DELIVERED;
}

mascri_sig_reach_t mascri_sig_reach(pid_t pid, int sig)
{
  _cleanup_free_ char *path = xasprintf("/proc/%d/status", (int)pid);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (mascri_read_file(path, &text, &len, NULL) < 0)
    return MASCRI_SIG_DELIVERED; /* gone or unreadable: a plain kill decides */
  return mascri_sig_reach_of_status(text, sig);
}

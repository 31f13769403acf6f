/* Releasing mascri-monitor's clean file-backed pages once the container runs (monitor-mem.h). */
#include "sandbox/monitor-mem.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct mapping {
  unsigned long start, end, inode, rss_kb;
  bool readonly, dirty, valid;
};

#define MAX_RELEASE 32

static bool releasable(const struct mapping *m)
{
  return m->valid && m->readonly && !m->dirty && m->inode != 0 && m->rss_kb > 0;
}

static void keep(const struct mapping *m, struct mapping *out, size_t *n)
{
  if (releasable(m) && *n < MAX_RELEASE)
    out[(*n)++] = *m;
}

/* A mapping's header line: "start-end perms offset dev inode [path]". */
static bool parse_header(const char *line, struct mapping *m)
{
  char perms[8] = "";
  unsigned long off;
  char dev[16];
  if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &m->start, &m->end, perms, &off, dev, &m->inode) !=
      6)
    return false;
  m->readonly = perms[1] == '-' && perms[3] == 'p';
  m->dirty = false;
  m->rss_kb = 0;
  m->valid = true;
  return true;
}

/* Anonymous pages in a file mapping are private copies (relocated data, RELRO): dropping
 * them would bring back the file's bytes. (Private_Dirty alone says nothing here: the
 * sealed copy lives in shmem, whose page cache pages are always dirty.) */
static void parse_field(const char *line, struct mapping *m)
{
  unsigned long kb;
  if (sscanf(line, "Rss: %lu kB", &kb) == 1)
    m->rss_kb = kb;
  else if (sscanf(line, "Anonymous: %lu kB", &kb) == 1 && kb > 0)
    m->dirty = true;
}

unsigned long monitor_release_clean_pages(void)
{
  FILE *f = fopen("/proc/self/smaps", "re");
  if (!f)
    return 0;
  char line[512];
  struct mapping m = {0}, found[MAX_RELEASE];
  size_t n = 0;
  while (fgets(line, sizeof(line), f)) {
    struct mapping next;
    if (line[0] != ' ' && strchr(line, '-') && parse_header(line, &next)) {
      keep(&m, found, &n);
      m = next;
    } else if (m.valid) {
      parse_field(line, &m);
    }
  }
  keep(&m, found, &n);
  fclose(f);
  /* all at the end: the parsing above would fault the pages right back in */
  unsigned long total = 0;
  for (size_t i = 0; i < n; i++)
    if (madvise((void *)found[i].start, found[i].end - found[i].start, MADV_DONTNEED) == 0)
      total += found[i].rss_kb;
  return total;
}

/* mascri-monitor's memory once the container runs (monitor-mem.h). */
#include "sandbox/monitor/monitor-mem.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"

/* The linker's bounds of the MONITOR_HOT section (weak: a program without it has none). */
extern const char __start_monitor_hot[] __attribute__((weak));
extern const char __stop_monitor_hot[] __attribute__((weak));

/* /proc/self/pagemap: one 64-bit entry per page. */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61) /* a file page (or shared anonymous), not a private copy */
#define PM_CHUNK 256

#define MAX_HOT 64

struct mapping {
  unsigned long start, end, inode;
  bool readonly, dirty, valid, stack;
};

static bool releasable(const struct mapping *m)
{
  return m->valid && m->readonly && !m->dirty && m->inode != 0;
}

static void add_range(monitor_mem_range_t *r, size_t *n, uintptr_t start, uintptr_t end)
{
  if (*n < MONITOR_MEM_MAX_RANGES)
    r[(*n)++] = (monitor_mem_range_t){start, end};
}

static void keep(monitor_mem_t *mm, const struct mapping *m)
{
  if (releasable(m))
    add_range(mm->files, &mm->n_files, m->start, m->end);
  else if (m->valid && m->stack)
    mm->stack_low = m->start;
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
  m->valid = true;
  m->stack = strstr(line, " [stack]") != NULL;
  return true;
}

/* Anonymous pages in a file mapping are private copies (relocated data, RELRO): dropping
 * them would bring back the file's bytes. (Private_Dirty alone says nothing here: the
 * sealed copy lives in shmem, whose page cache pages are always dirty.) */
static void parse_field(const char *line, struct mapping *m)
{
  unsigned long kb;
  if (sscanf(line, "Anonymous: %lu kB", &kb) == 1 && kb > 0)
    m->dirty = true;
}

static int find_mappings(monitor_mem_t *mm)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
  if (!f)
    return -1;
  char line[512];
  struct mapping m = {0};
  while (fgets(line, sizeof(line), f)) {
    struct mapping next;
    if (line[0] != ' ' && strchr(line, '-') && parse_header(line, &next)) {
      keep(mm, &m);
      m = next;
    } else if (m.valid) {
      parse_field(line, &m);
    }
  }
  keep(mm, &m);
  return 0;
}

/* The pagemap entries of n pages from addr; returns how many it read. */
static size_t read_entries(int pm, uintptr_t addr, size_t page, uint64_t *e, size_t n)
{
  ssize_t r = pread(pm, e, n * sizeof(*e), (off_t)(addr / page * sizeof(*e)));
  return r > 0 ? (size_t)r / sizeof(*e) : 0;
}

/* Appends [start, end) to runs, joined to the last run when they touch; past the limit the
 * last run grows to cover it (coarser, never wrong). */
static void add_run(monitor_mem_range_t *runs, size_t *n, size_t max, uintptr_t start,
                    uintptr_t end)
{
  if (*n > 0 && (runs[*n - 1].end == start || *n == max)) {
    runs[*n - 1].end = end;
    return;
  }
  runs[(*n)++] = (monitor_mem_range_t){start, end};
}

/* The pages of r that are resident or in the MONITOR_HOT section, as runs. */
static void scan_hot(int pm, size_t page, const monitor_mem_range_t *r, monitor_mem_range_t *runs,
                     size_t *n)
{
  uintptr_t hot_start = (uintptr_t)__start_monitor_hot, hot_end = (uintptr_t)__stop_monitor_hot;
  uint64_t e[PM_CHUNK];
  for (uintptr_t a = r->start; a < r->end;) {
    size_t want = (r->end - a) / page < PM_CHUNK ? (r->end - a) / page : PM_CHUNK;
    size_t got = read_entries(pm, a, page, e, want);
    if (got == 0)
      return;
    for (size_t i = 0; i < got; i++, a += page)
      if ((e[i] & PM_PRESENT) || (a + page > hot_start && a < hot_end))
        add_run(runs, n, MAX_HOT, a, a + page);
  }
}

MONITOR_HOT static void drop_ranges(const monitor_mem_range_t *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    madvise((void *)r[i].start, r[i].end - r[i].start, MADV_DONTNEED);
}

/* Every page its own mapping for a moment (the advice alternates), dropped; warm() then
 * brings in exactly the pages it runs on, fault-around having nothing around to map. */
static void isolate_hot(monitor_mem_t *mm, void (*warm)(void *data), void *data)
{
  _cleanup_close_ int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0)
    return;
  const size_t page = mm->page;
  for (size_t i = 0; i < mm->n_files; i++)
    for (uintptr_t a = mm->files[i].start; a < mm->files[i].end; a += 2 * page)
      madvise((void *)a, page, MADV_RANDOM);
  drop_ranges(mm->files, mm->n_files);
  warm(data);
  monitor_mem_range_t hot[MAX_HOT];
  size_t n_hot = 0;
  for (size_t i = 0; i < mm->n_files; i++)
    scan_hot(pm, page, &mm->files[i], hot, &n_hot);
  for (size_t i = 0; i < mm->n_files; i++) /* one mapping again */
    madvise((void *)mm->files[i].start, mm->files[i].end - mm->files[i].start, MADV_NORMAL);
  for (size_t i = 0; i < n_hot; i++)
    madvise((void *)hot[i].start, hot[i].end - hot[i].start, MADV_NOHUGEPAGE);
}

void monitor_mem_init(monitor_mem_t *mm, void (*warm)(void *data), void *data)
{
  *mm = (monitor_mem_t){.page = (size_t)sysconf(_SC_PAGESIZE)};
  if (find_mappings(mm) < 0)
    return;
  isolate_hot(mm, warm, data);
}

/* r less its pages that are private copies (present or swapped, and not file pages). */
static void plan_range(monitor_mem_t *mm, int pm, const monitor_mem_range_t *r)
{
  uint64_t e[PM_CHUNK];
  uintptr_t run = r->start, a = r->start;
  while (a < r->end) {
    size_t want = (r->end - a) / mm->page < PM_CHUNK ? (r->end - a) / mm->page : PM_CHUNK;
    size_t got = read_entries(pm, a, mm->page, e, want);
    if (got == 0)
      break; /* unreadable: keep the rest */
    for (size_t i = 0; i < got; i++, a += mm->page) {
      if (!(e[i] & (PM_PRESENT | PM_SWAPPED)) || (e[i] & PM_FILE))
        continue;
      if (a > run)
        add_range(mm->drop, &mm->n_drop, run, a);
      run = a + mm->page;
    }
  }
  if (a > run)
    add_range(mm->drop, &mm->n_drop, run, a);
}

void monitor_mem_prepare(monitor_mem_t *mm)
{
  malloc_trim(0);
  mm->n_drop = 0;
  _cleanup_close_ int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  for (size_t i = 0; i < mm->n_files; i++)
    if (pm >= 0)
      plan_range(mm, pm, &mm->files[i]);
    else /* as found: without a private copy then */
      add_range(mm->drop, &mm->n_drop, mm->files[i].start, mm->files[i].end);
}

MONITOR_HOT void monitor_mem_drop(monitor_mem_t *mm)
{
  drop_ranges(mm->drop, mm->n_drop);
  /* one page of margin below the page of this frame, for madvise()'s own frame */
  uintptr_t below = ((uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)(mm->page - 1)) - mm->page;
  if (mm->stack_low && below > mm->stack_low)
    madvise((void *)mm->stack_low, below - mm->stack_low, MADV_DONTNEED);
}

/* mascri-monitor's memory once the container runs: the code that created it (the runtime,
 * libseccomp, yajl: most of the binary) is not needed again while the monitor only copies
 * logs and waits, and the steady loop runs on a dozen pages.
 *
 * The binary's code and read-only data are file pages shared by every monitor through the
 * sealed copy's page cache: dropping them from a monitor's page tables costs nothing, and a
 * page comes back with a minor fault when touched. But a fault maps the pages around it too
 * (the kernel's fault-around: 16 pages, 64 KiB windows, clipped to the mapping), so a loop
 * whose few pages lie scattered over the binary would keep ~1 MiB of it resident. So the
 * pages the loop runs on become mappings (VMAs) of their own: monitor_mem_init() finds them
 * once, with every page its own mapping for a moment, by running what the loop runs outside
 * its own code (warm()) and reading which pages came in (/proc/self/pagemap); the loop's
 * own code is the MONITOR_HOT section. Those ranges are marked MADV_NOHUGEPAGE, only to
 * split them off (a range of a few pages never holds a huge page; MADV_RANDOM, used for the
 * moment of the search, would also hide the pages' use from reclaim). The cost: 15 to 20
 * more mappings per monitor, ~200 bytes of kernel memory each. Code that runs seldom (the
 * control socket, the hourly localtime_r() of the log's clock, the exit) comes back in
 * 64 KiB windows; the loop drops it again (monitor-loop.h). */
#ifndef MASCRI_SANDBOX_MONITOR_MEM_H
#define MASCRI_SANDBOX_MONITOR_MEM_H

#include <stddef.h>
#include <stdint.h>

/* The code of the steady loop (poll, read, log records, monitor_mem_drop()), kept together
 * in one section. */
#define MONITOR_HOT __attribute__((section("monitor_hot")))

#define MONITOR_MEM_MAX_RANGES 32

typedef struct monitor_mem_range {
  uintptr_t start, end;
} monitor_mem_range_t;

typedef struct monitor_mem {
  /* the clean, read-only, file-backed mappings (their address ranges stay) */
  monitor_mem_range_t files[MONITOR_MEM_MAX_RANGES];
  size_t n_files;
  /* what monitor_mem_drop() gives back, planned by monitor_mem_prepare() */
  monitor_mem_range_t drop[MONITOR_MEM_MAX_RANGES];
  size_t n_drop;
  uintptr_t stack_low; /* the lowest address of [stack]; 0 = unknown */
  size_t page;
} monitor_mem_t;

/* Finds the mappings (those with any anonymous, copied-on-write page, such as relocated
 * data and RELRO, are left alone) and splits off the ranges the loop runs on; warm(data)
 * must run, without side effects, the libc functions a loop iteration calls. Best effort:
 * without /proc or madvise() there is simply less to drop. */
void monitor_mem_init(monitor_mem_t *mm, void (*warm)(void *data), void *data);
/* Trims the heap (malloc_trim) and plans the drop: the file mappings, less any page that
 * has become a private copy since (a debugger's breakpoint stays). */
void monitor_mem_prepare(monitor_mem_t *mm);
/* MADV_DONTNEED of the planned ranges and of the stack below the caller's frame (dead
 * memory: it comes back as zero pages). Runs from the MONITOR_HOT section and returns to
 * the caller, the loop, without touching any other page. */
void monitor_mem_drop(monitor_mem_t *mm);

#endif

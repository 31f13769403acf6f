/* Whether the kernel's OOM killer took the container's init. memory.events of the
 * container's cgroup says so while the cgroup exists; with the systemd cgroup manager the
 * scope (and its files) can be gone before the monitor reads them: the kernel frees the
 * cgroup as the killed init exits, systemd removes it, and the notification of the oom_kill
 * count may come up to 20 ms late (the kernel rate-limits cgroup file notifications). The
 * kernel log then still has it: the OOM killer logs "Killed process PID (comm)" for every
 * victim, unthrottled (kubelet's cAdvisor reads OOM kills the same way). */
#ifndef MASCRI_SANDBOX_MONITOR_OOM_H
#define MASCRI_SANDBOX_MONITOR_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The oom_kill count of a memory.events fd: 1 when above 0, 0 when 0, -1 when unreadable
 * (ENODEV: the cgroup is gone). */
int monitor_memory_events_oom(int fd);

/* Whether one /dev/kmsg record ("PRIO,SEQ,USEC,FLAGS;MESSAGE" and continuation lines)
 * tells that the OOM killer killed pid, at USEC >= since_us (USEC counts from boot, as
 * CLOCK_MONOTONIC does: mascri_clock_monotonic_ms() * 1000 is near it). */
bool monitor_kmsg_record_kills(const char *rec, size_t len, pid_t pid, uint64_t since_us);
/* Whether any record of the kernel log at path (/dev/kmsg) does; false when it cannot be
 * read. Reads at most the records the log holds (the kernel bounds it). */
bool monitor_kmsg_oom_killed(const char *path, pid_t pid, uint64_t since_us);

#endif

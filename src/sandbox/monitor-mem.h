/* mascri-monitor's memory after the container is created: the code that created it (the
 * runtime, libseccomp, yajl: most of the binary) is not needed again while the monitor
 * only copies logs and waits. */
#ifndef MASCRI_SANDBOX_MONITOR_MEM_H
#define MASCRI_SANDBOX_MONITOR_MEM_H

/* Drops from the resident set every clean, read-only, file-backed mapping (the binary's
 * code and read-only data): those pages are shared with every other monitor through the
 * sealed copy's page cache and come back with a minor fault when touched. Mappings with any
 * anonymous (copied-on-write) page, such as relocated data and RELRO, are left alone. Best effort:
 * returns the number of KiB released. */
unsigned long monitor_release_clean_pages(void);

#endif

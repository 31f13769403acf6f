/* The service manager's socket activation protocol (sd_listen_fds(3)) without libsystemd:
 * the manager passes listening sockets from fd 3 on and says how many in $LISTEN_FDS, for
 * the process named by $LISTEN_PID (so a child that inherits the environment does not take
 * them too). */
#ifndef MASCRI_COMMON_SD_LISTEN_H
#define MASCRI_COMMON_SD_LISTEN_H

#define MASCRI_SD_LISTEN_FDS_START 3

/* The number of sockets passed to this process (0 when none or not for us, < 0 -EINVAL for a
 * malformed LISTEN_FDS/LISTEN_PID). Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so no
 * child sees them, and marks the passed fds close-on-exec. */
int mascri_sd_listen_fds(void);

/* 1 when fd is a listening unix stream socket, 0 when it is something else, < 0 -errno. */
int mascri_sd_is_listening_unix(int fd);

#endif

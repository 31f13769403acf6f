/* The service manager's readiness protocol (sd_notify(3)) without libsystemd: one datagram
 * with "KEY=VALUE\n..." to the unix socket named by $NOTIFY_SOCKET (a path, or "@name"
 * for the abstract namespace). */
#ifndef MASCRI_COMMON_SD_NOTIFY_H
#define MASCRI_COMMON_SD_NOTIFY_H

/* 1 when sent, 0 when NOTIFY_SOCKET is unset, < 0 (-errno) when it could not be sent. */
int mascri_sd_notify(const char *state);

#endif

/* Signal names as users and images write them: "KILL", "SIGKILL", "sigkill" or "9". */
#pragma once

/* The signal number for s: a decimal number from 1 to 64, or the name of a standard signal
 * (1..31), with or without "SIG", in any case. -1 when s is NULL, empty or unknown. Real-time
 * names ("RTMIN+3") are not known here: the runtime CLI adds them itself. */
int mascri_signal_parse(const char *s);

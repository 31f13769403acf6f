/* The two clocks mascri reads: wall time for what the CRI reports (created_at, started_at,
 * stats timestamps: nanoseconds since the epoch) and monotonic time for timeouts and
 * deadlines (milliseconds, never stepped by a clock change). */
#pragma once

#include <stdint.h>

/* CLOCK_REALTIME in nanoseconds since the epoch. */
int64_t mascri_clock_realtime_ns(void);

/* CLOCK_MONOTONIC in milliseconds (since boot: never negative, and signed so that
 * "deadline - now" is a plain subtraction). */
int64_t mascri_clock_monotonic_ms(void);

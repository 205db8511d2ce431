/*
 * probes.h - the probe-request executor shared by the host backend (cffi)
 * and driver.c (foreign arches).  The protocol is documented in driver.c.
 */
#ifndef BL_PROBES_H
#define BL_PROBES_H

#include <stddef.h>

/* Longest request line and largest response the executor handles. */
#define BL_MAX_LINE 16384
#define BL_MAX_OUT 65536

/* Run one request line (no trailing newline needed) and write one JSON
 * object, without a newline, into out.  Returns 0 when the response says
 * "ok": true, 1 when it says "ok": false (bad request), -1 if out is too
 * small to hold the response (out then holds a truncated-response error). */
int bl_probe_run(const char *line, char *out, size_t outlen);

#endif /* BL_PROBES_H */

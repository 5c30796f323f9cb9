/*
 * embedded.h: data files compiled into the binary by tools/embed.sh
 * (gen/embedded.c): the shipped Lua policies (lua-policies/NAME.lua), the
 * pinned vendor roots (verifier/roots/VENDOR/.../NAME.pem) and the console's
 * static files (console/...). Each is NUL-terminated
 * (the NUL is not counted in len).
 */
#ifndef TRUSTEE_EMBEDDED_H
#define TRUSTEE_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *path;		/* as in the source tree */
	const unsigned char *data;
	size_t len;
};

extern const struct embedded_file embedded_files[];
extern const unsigned long embedded_count;

/* The file at this source-tree path ("lua-policies/default_cpu.lua",
 * "verifier/roots/amd/milan/ark.pem"), or NULL. */
const unsigned char *embedded_get(const char *path, size_t *len);

#endif

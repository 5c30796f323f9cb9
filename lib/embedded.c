/*
 * embedded.c: lookup in the table tools/embed.sh generates.
 */
#include <string.h>

#include "embedded.h"

const unsigned char *
embedded_get(const char *path, size_t *len)
{
	unsigned long i;

	for (i = 0; i < embedded_count; i++)
		if (strcmp(embedded_files[i].path, path) == 0) {
			if (len != NULL)
				*len = embedded_files[i].len;
			return embedded_files[i].data;
		}
	return NULL;
}

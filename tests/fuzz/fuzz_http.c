/*
 * fuzz_http.c: the HTTP request parser and response writer
 * (server/http.c), fed as if the bytes arrived on one connection.
 */
#include <stddef.h>
#include <stdint.h>

/* Defined in server/http.c when built with -DFUZZING. */
int http_fuzz_feed(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	return http_fuzz_feed(data, size);
}

/*
 * fuzz_store_row.c: feed arbitrary bytes to the store's row opener as if
 * read from the database. It must never crash, and never accept: passing
 * authentication on input that was not sealed under the key would mean
 * forged rows get through.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/util.h"

/* store.c exports this under -DFUZZING only. */
int store_row_open(const uint8_t row_key[32], uint32_t key_version,
    const char *table, const uint8_t id[32], const char *want_name,
    const uint8_t *blob, size_t len, char **name_out, uint8_t **val,
    size_t *vlen, struct error *err);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The row key and row id of tests/unit/test_store_format.c's known answers
 * (data key 00 01 .. 1f, table "resource", name "default/key/one"), so
 * seeds can be made from real rows. */
static const uint8_t fuzz_row_key[32] = {
	0xe5, 0x16, 0x3a, 0x21, 0x01, 0xa4, 0xe0, 0x3f,
	0xcf, 0x05, 0x41, 0x4a, 0x5a, 0xdc, 0xaf, 0x90,
	0x07, 0xf9, 0x58, 0x4f, 0x6a, 0x04, 0x0a, 0xae,
	0x73, 0xf2, 0x12, 0x8e, 0x7e, 0x60, 0x50, 0x38,
};
static const uint8_t fuzz_row_id[32] = {
	0xdb, 0x71, 0x77, 0x64, 0xc3, 0x1e, 0x87, 0xcd,
	0x25, 0x4a, 0xf2, 0x65, 0x89, 0x65, 0x35, 0xb7,
	0xbb, 0x35, 0x4a, 0x2f, 0xf8, 0x47, 0xf7, 0x13,
	0x0b, 0xf9, 0x4c, 0x74, 0xca, 0xa5, 0xaa, 0x04,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	uint8_t *val;
	size_t vlen;
	char *name;

	/* As store_get opens it: the name is known. */
	if (store_row_open(fuzz_row_key, 1, "resource", fuzz_row_id,
	    "default/key/one", data, size, NULL, &val, &vlen, &err) == 0)
		abort();
	if (val != NULL || err.msg[0] == '\0')
		abort();
	/* As store_list opens it: any name. */
	err.msg[0] = '\0';
	if (store_row_open(fuzz_row_key, 1, "resource", fuzz_row_id, NULL,
	    data, size, &name, &val, &vlen, &err) == 0)
		abort();
	if (val != NULL || name != NULL || err.msg[0] == '\0')
		abort();
	return 0;
}

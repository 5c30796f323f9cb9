/*
 * fuzz_contract.c: volume contracts (cli/contract.c) from any bytes.
 * Properties: no crash or leak; an accepted contract keeps every rule the
 * volume steps rely on (REPO/TYPE/TAG key, absolute device, safe mapper
 * name, mount only with a file system, https/http URL, PBKDF in range);
 * a refusal always says which file it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct contract c;
	struct error err;
	const char *p;

	if (contract_parse((const char *)data, size, "f.toml", &c, &err) !=
	    0) {
		if (strncmp(err.msg, "f.toml", 6) != 0)
			abort();
		return 0;
	}
	if (c.url == NULL || c.tee == NULL || c.device == NULL ||
	    c.name == NULL || c.key == NULL)
		abort();
	if (strncmp(c.url, "https://", 8) != 0 &&
	    strncmp(c.url, "http://", 7) != 0)
		abort();
	if (contract_resource_path(c.key) != c.key || c.device[0] != '/')
		abort();
	for (p = c.name; *p != '\0'; p++)
		if (*p == '/')
			abort();
	if (c.mount != NULL && (c.filesystem == NULL || c.mount[0] != '/'))
		abort();
	if (c.pbkdf_memory < 32 || c.pbkdf_time < 1)
		abort();
	contract_clear(&c);
	return 0;
}

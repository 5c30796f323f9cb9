/*
 * fuzz_config.c: config_load on arbitrary file contents, through a memfd
 * so nothing touches the disk. Its report goes to /dev/null.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../server/trusteed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	struct config cfg;
	char path[64];
	int fd, saved, n;

	if (devnull == -1)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fd == -1 || devnull == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&cfg);
	fflush(stderr);
	saved = dup(2);
	dup2(devnull, 2);
	n = config_load(path, &cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	if (n < 0 || cfg.nlisten < 1 || cfg.nlisten > CONFIG_MAX_LISTEN ||
	    cfg.state_dir == NULL || cfg.store_path == NULL)
		abort();
	config_free(&cfg);
	return 0;
}

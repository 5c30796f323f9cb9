/*
 * seal_file.c: the development sealer. The data key is 32 raw random
 * bytes in a file that only trusteed's user may access; nothing binds it
 * to the TEE, so every load says so in the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store.h"

#define SEAL_FILE_KEY_LEN 32

static void
seal_file_warn(const char *path)
{
	log_warnx("data key is stored in a plain file (%s): development only; "
	    "use a TEE sealer in production", path);
}

/* Read exactly SEAL_FILE_KEY_LEN bytes from fd into key. */
static int
seal_file_read(const char *path, int fd, uint8_t key[SEAL_FILE_KEY_LEN],
    struct error *err)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1)
		return error_set(err, "%s: %s", path, strerror(errno));
	if (st.st_size != SEAL_FILE_KEY_LEN)
		return error_set(err, "%s: data key file must hold exactly %d "
		    "bytes, found %lld", path, SEAL_FILE_KEY_LEN,
		    (long long)st.st_size);
	while (got < SEAL_FILE_KEY_LEN) {
		n = read(fd, key + got, SEAL_FILE_KEY_LEN - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return error_set(err, "%s: %s", path, strerror(errno));
		if (n == 0)
			return error_set(err, "%s: data key file shrank while "
			    "being read", path);
		got += (size_t)n;
	}
	return 0;
}

int
seal_file_load(const char *path, int create, uint8_t key[32],
    struct error *err)
{
	int fd, rc;

	if (sodium_init() < 0)
		return error_set(err, "%s: libsodium failed to initialise",
		    path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (!create)
			return error_set(err, "%s: data key file does not "
			    "exist", path);
		/* Straight into the caller's buffer: no copy to wipe. */
		randombytes_buf(key, SEAL_FILE_KEY_LEN);
		if (file_write_atomic(path, key, SEAL_FILE_KEY_LEN, 0600,
		    err) == -1) {
			sodium_memzero(key, SEAL_FILE_KEY_LEN);
			return -1;
		}
		log_info("created a new data key in %s", path);
		seal_file_warn(path);
		return 0;
	}
	if (fd == -1)
		return error_set(err, "%s: %s", path, strerror(errno));
	rc = file_check_secret(path, err);
	if (rc == 0)
		rc = seal_file_read(path, fd, key, err);
	close(fd);
	if (rc == -1) {
		sodium_memzero(key, SEAL_FILE_KEY_LEN);
		return -1;
	}
	seal_file_warn(path);
	return 0;
}

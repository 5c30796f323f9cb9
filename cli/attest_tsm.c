/*
 * attest_tsm.c: Linux configfs-tsm attestation reports
 * (Documentation/ABI/testing/configfs-tsm, kernel >= 6.7), the generic
 * path for SNP and TDX guests, as the AA's tsm_report module uses it: make
 * an entry under /sys/kernel/config/tsm/report, check its provider, write
 * the 64 bytes of report data to inblob, read outblob (the SNP report or
 * the TD quote) and auxblob (SNP: the certificate table the host
 * supplied), and check generation to be sure nobody else wrote inblob in
 * between. The entry is removed afterwards.
 *
 * cfg->tsm_dir may also name one entry (a directory that has a provider
 * file) prepared in advance, e.g. by hand or by a test laid out like
 * configfs: it is used in place and left as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "attest.h"

/* TD quotes are ~5 KiB, certificate tables ~16 KiB. */
#define TSM_BLOB_MAX	(1024u * 1024)
#define TSM_ATTR_MAX	64u

void
attest_tsm_report_clear(struct attest_tsm_report *r)
{
	free(r->outblob);
	free(r->auxblob);
	memset(r, 0, sizeof(*r));
}

int
attest_tsm_provider_parse(const char *text, size_t len, char *out,
    size_t cap, struct error *err)
{
	size_t i;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len >= cap)
		return error_set(err, "configfs-tsm provider: %s",
		    len == 0 ? "empty" : "too long");
	for (i = 0; i < len; i++) {
		char c = text[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_'))
			return error_set(err, "configfs-tsm provider: "
			    "unexpected character 0x%02x", (unsigned char)c);
	}
	memcpy(out, text, len);
	out[len] = '\0';
	return 0;
}

int
attest_tsm_generation_parse(const char *text, size_t len, uint32_t *out,
    struct error *err)
{
	uint64_t v = 0;
	size_t i;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len > 10)
		return error_set(err, "configfs-tsm generation: not a number");
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return error_set(err, "configfs-tsm generation: not a "
			    "number");
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	if (v > UINT32_MAX)
		return error_set(err, "configfs-tsm generation: out of range");
	*out = (uint32_t)v;
	return 0;
}

/* A file of the entry, whole; optional: a missing file gives *len 0. */
static int
tsm_read(const char *entry, const char *name, size_t max, int optional,
    uint8_t **out, size_t *len, struct error *err)
{
	char *path = xasprintf("%s/%s", entry, name);
	int rc;

	*out = NULL;
	*len = 0;
	if (optional && access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	rc = file_read_all(path, max, out, len, err);
	free(path);
	if (rc != 0)
		return error_prefix(err, "configfs-tsm");
	return 0;
}

/* Write data to an attribute in one write() (configfs takes a binary
 * attribute in one go). */
static int
tsm_write(const char *entry, const char *name, const void *data, size_t len,
    struct error *err)
{
	char *path = xasprintf("%s/%s", entry, name);
	ssize_t n;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		error_set(err, "configfs-tsm: %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	do
		n = write(fd, data, len);
	while (n == -1 && errno == EINTR);
	e = errno;
	if (close(fd) == -1 && n != -1) {
		n = -1;
		e = errno;
	}
	if (n == -1 || (size_t)n != len) {
		error_set(err, "configfs-tsm: writing %s: %s", path,
		    n == -1 ? strerror(e) : "short write");
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static int
tsm_generation(const char *entry, uint32_t *gen, struct error *err)
{
	uint8_t *b;
	size_t n;
	int rc;

	if (tsm_read(entry, "generation", TSM_ATTR_MAX, 0, &b, &n, err) != 0)
		return -1;
	rc = attest_tsm_generation_parse((const char *)b, n, gen, err);
	free(b);
	return rc;
}

static int
tsm_provider(const char *entry, char *out, size_t cap, struct error *err)
{
	uint8_t *b;
	size_t n;
	int rc;

	if (tsm_read(entry, "provider", TSM_ATTR_MAX, 0, &b, &n, err) != 0)
		return -1;
	rc = attest_tsm_provider_parse((const char *)b, n, out, cap, err);
	free(b);
	return rc;
}

/*
 * The entry to use: dir itself when it has a provider file (*made 0),
 * else a fresh entry made in dir (*made 1; remove it with rmdir).
 */
static char *
tsm_entry(const struct attest_cfg *cfg, int *made, struct error *err)
{
	const char *dir = cfg->tsm_dir ? cfg->tsm_dir : ATTEST_TSM_DIR;
	char *p = xasprintf("%s/provider", dir), *entry;
	uint8_t rnd[6];
	char hex[13];
	struct stat st;

	*made = 0;
	if (access(p, F_OK) == 0) {
		free(p);
		return xstrdup(dir);
	}
	free(p);
	if (stat(dir, &st) != 0) {
		error_set(err, "configfs-tsm: %s: %s", dir, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		error_set(err, "configfs-tsm: %s: not a directory", dir);
		return NULL;
	}
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	entry = xasprintf("%s/trusteectl.%ld.%s", dir, (long)getpid(), hex);
	if (mkdir(entry, 0700) != 0) {
		error_set(err, "configfs-tsm: cannot make a report entry in "
		    "%s: %s", dir, strerror(errno));
		free(entry);
		return NULL;
	}
	*made = 1;
	return entry;
}

int
attest_tsm_provider(const struct attest_cfg *cfg, char *out, size_t cap,
    struct error *err)
{
	char *entry;
	int made, rc;

	if ((entry = tsm_entry(cfg, &made, err)) == NULL)
		return -1;
	rc = tsm_provider(entry, out, cap, err);
	if (made && rmdir(entry) != 0)
		log_warn("configfs-tsm: cannot remove %s", entry);
	free(entry);
	return rc;
}

int
attest_tsm_get(const struct attest_cfg *cfg, const char *want,
    const uint8_t inblob[64], struct attest_tsm_report *r,
    struct error *err)
{
	char *entry, *priv;
	uint32_t g0, g1;
	int made, rc = -1;

	memset(r, 0, sizeof(*r));
	if ((entry = tsm_entry(cfg, &made, err)) == NULL)
		return -1;
	if (tsm_provider(entry, r->provider, sizeof(r->provider), err) != 0)
		goto out;
	if (strcmp(r->provider, want) != 0) {
		error_set(err, "configfs-tsm: the report provider is %s, not "
		    "%s", r->provider, want);
		goto out;
	}
	/* SEV: the report of VMPL 0, which the verifier requires. The
	 * attribute exists only where the provider has privilege levels. */
	priv = xasprintf("%s/privlevel", entry);
	if (access(priv, F_OK) == 0 && tsm_write(entry, "privlevel", "0\n", 2,
	    err) != 0) {
		free(priv);
		error_prefix(err, "privilege level 0 refused (is this guest "
		    "running above VMPL 0? see privlevel_floor)");
		goto out;
	}
	free(priv);
	if (tsm_generation(entry, &g0, err) != 0 ||
	    tsm_write(entry, "inblob", inblob, 64, err) != 0 ||
	    tsm_read(entry, "outblob", TSM_BLOB_MAX, 0, &r->outblob,
	    &r->outblob_len, err) != 0 ||
	    tsm_read(entry, "auxblob", TSM_BLOB_MAX, 1, &r->auxblob,
	    &r->auxblob_len, err) != 0 ||
	    tsm_generation(entry, &g1, err) != 0)
		goto out;
	/* One inblob write (ours) moves generation by one. More means
	 * another process wrote inblob too: the outblob may be theirs. */
	if (g1 > g0 + 1) {
		error_set(err, "configfs-tsm: inblob write conflict in %s "
		    "(generation went from %u to %u): another process used the "
		    "same entry", entry, g0, g1);
		goto out;
	}
	if (r->outblob_len == 0) {
		error_set(err, "configfs-tsm: %s/outblob is empty", entry);
		goto out;
	}
	if (r->auxblob_len == 0) {
		free(r->auxblob);
		r->auxblob = NULL;
	}
	rc = 0;
out:
	if (rc != 0)
		attest_tsm_report_clear(r);
	if (made && rmdir(entry) != 0)
		log_warn("configfs-tsm: cannot remove %s", entry);
	free(entry);
	return rc;
}

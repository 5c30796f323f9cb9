/*
 * test_seal_tpm.c: the tpm2 sealer against real software TPMs. The test
 * starts two private swtpm instances (socket mode, TCP on 127.0.0.1, free
 * ports, state in a scratch directory), seals and unseals without and
 * with PCR binding, extends a PCR with tpm2_pcrextend and shows the
 * unseal refused naming the PCRs, and shows a blob sealed by one TPM
 * refused by the other.
 *
 * Needs swtpm and tpm2-tools (Debian packages swtpm, tpm2-tools). When
 * they are missing every test is SKIPPED with the reason, except under
 * CI=true, where that is a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../store/seal_internal.h"
#include "testutil.h"

static const uint8_t secret[32] = "thirty-two bytes of data key....";

struct swtpm {
	pid_t pid;
	int port;
	char *dir;
	char tcti[64];
};

struct tpms {
	char *root;
	struct swtpm a, b;
	const char *missing;	/* why the tests cannot run, or NULL */
};

static struct tpms g;

static int
ci_mode(void)
{
	const char *ci = getenv("CI");

	return ci != NULL && (strcmp(ci, "true") == 0 || strcmp(ci, "1") == 0 ||
	    strcmp(ci, "yes") == 0);
}

/* Is prog on $PATH? */
static int
have_program(const char *prog)
{
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", prog);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

/* Skip (by hand) or fail (CI=true) when a prerequisite is missing. */
static void
require_tpms(void)
{
	if (g.missing == NULL)
		return;
	if (ci_mode())
		fail_msg("missing under CI: %s", g.missing);
	fprintf(stderr, "SKIPPED: %s\n", g.missing);
	skip();
}

static int
port_free(int port)
{
	struct sockaddr_in sa;
	int fd, one = 1, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int
port_listening(int port)
{
	struct sockaddr_in sa;
	int fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Start one swtpm on two consecutive free loopback ports: 0 or -1. */
static int
swtpm_start(struct swtpm *t, const char *root, const char *name)
{
	char *state, *log, server[96], ctrl[96], tpmstate[PATH_MAX + 8];
	int attempt, i, fd, status;

	t->dir = xasprintf("%s/%s", root, name);
	state = xasprintf("%s/state", t->dir);
	log = xasprintf("%s/swtpm.log", t->dir);
	if (mkdir(t->dir, 0700) != 0 || mkdir(state, 0700) != 0)
		fail_msg("mkdir %s failed", state);
	for (attempt = 0; attempt < 20; attempt++) {
		t->port = 20000 + (int)randombytes_uniform(40000);
		if (!port_free(t->port) || !port_free(t->port + 1))
			continue;
		snprintf(server, sizeof(server),
		    "type=tcp,port=%d,bindaddr=127.0.0.1", t->port);
		snprintf(ctrl, sizeof(ctrl),
		    "type=tcp,port=%d,bindaddr=127.0.0.1", t->port + 1);
		snprintf(tpmstate, sizeof(tpmstate), "dir=%s", state);
		t->pid = fork();
		if (t->pid == -1)
			fail_msg("fork: %s", strerror(errno));
		if (t->pid == 0) {
			/* Die with the test, whatever happens to it. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execlp("swtpm", "swtpm", "socket", "--tpm2",
			    "--server", server, "--ctrl", ctrl,
			    "--tpmstate", tpmstate,
			    "--flags", "not-need-init,startup-clear",
			    (char *)NULL);
			_exit(127);
		}
		for (i = 0; i < 200; i++) {
			if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
				t->pid = 0;
				break;	/* lost a port race: try others */
			}
			if (port_listening(t->port)) {
				snprintf(t->tcti, sizeof(t->tcti),
				    "swtpm:host=127.0.0.1,port=%d", t->port);
				free(state);
				free(log);
				return 0;
			}
			sleep_ms(50);
		}
		if (t->pid > 0) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &status, 0);
			t->pid = 0;
		}
	}
	free(state);
	free(log);
	return -1;
}

static void
swtpm_stop(struct swtpm *t)
{
	int status;

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		waitpid(t->pid, &status, 0);
	}
	t->pid = 0;
	free(t->dir);
	t->dir = NULL;
}

/* Run tpm2-tools' tpm2_pcrextend on t: extend PCR index of the sha256
 * bank with a fixed digest. */
static void
pcr_extend(const struct swtpm *t, int index)
{
	char arg[128];
	pid_t pid;
	int status;

	snprintf(arg, sizeof(arg), "%d:sha256=%s", index,
	    "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"
	    "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char env[96];

		snprintf(env, sizeof(env), "TPM2TOOLS_TCTI=%s", t->tcti);
		putenv(env);
		execlp("tpm2_pcrextend", "tpm2_pcrextend", arg, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("tpm2_pcrextend %s failed (status %d)", arg, status);
}

static int
group_setup(void **state)
{
	(void)state;
	memset(&g, 0, sizeof(g));
	if (sodium_init() < 0)
		return -1;
	if (!have_program("swtpm")) {
		g.missing = "swtpm not found (Debian package swtpm)";
		return 0;
	}
	if (!have_program("tpm2_pcrextend")) {
		g.missing = "tpm2_pcrextend not found (Debian package "
		    "tpm2-tools)";
		return 0;
	}
	g.root = testutil_tmpdir("test_seal_tpm");
	if (swtpm_start(&g.a, g.root, "a") == -1 ||
	    swtpm_start(&g.b, g.root, "b") == -1)
		g.missing = "swtpm did not start (see its log under /tmp/"
		    "test_seal_tpm.*)";
	return 0;
}

static int
group_teardown(void **state)
{
	char *cmd;

	(void)state;
	swtpm_stop(&g.a);
	swtpm_stop(&g.b);
	if (g.root != NULL && g.missing == NULL) {
		cmd = xasprintf("rm -rf '%s'", g.root);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", g.root);
		free(cmd);
	}
	free(g.root);
	return 0;
}

static void
cfg_for(struct seal_config *cfg, const struct swtpm *t, const char *pcrs)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = "tpm2";
	cfg->passphrase_fd = -1;
	cfg->tpm2_tcti = t->tcti;
	cfg->tpm2_pcrs = pcrs;
}

static uint8_t *
wrap(const struct seal_config *cfg, size_t *len)
{
	struct error err = { "" };
	uint8_t *blob;

	if (seal_wrap(cfg, secret, sizeof(secret), &blob, len, &err) != 0)
		fail_msg("seal_wrap: %s", err.msg);
	return blob;
}

static void
unwrap_ok(const struct seal_config *cfg, const uint8_t *blob, size_t len)
{
	uint8_t out[SEAL_SECRET_MAX];
	struct error err = { "" };
	size_t olen;

	if (seal_unwrap(cfg, blob, len, out, sizeof(out), &olen, &err) != 0)
		fail_msg("seal_unwrap: %s", err.msg);
	assert_int_equal(olen, sizeof(secret));
	assert_memory_equal(out, secret, sizeof(secret));
}

/* Unwrap must fail; returns the message (static). */
static const char *
unwrap_fail(const struct seal_config *cfg, const uint8_t *blob, size_t len)
{
	static struct error err;
	uint8_t out[SEAL_SECRET_MAX];
	size_t olen = 99, i;

	memset(out, 0, sizeof(out));
	memset(&err, 0, sizeof(err));
	assert_int_equal(seal_unwrap(cfg, blob, len, out, sizeof(out), &olen,
	    &err), -1);
	assert_int_equal(olen, 0);
	for (i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
	return err.msg;
}

static void
test_no_pcrs(void **state)
{
	struct seal_config cfg;
	const uint8_t *payload;
	struct seal_tpm2_payload tp;
	char name[SEAL_NAME_MAX + 1];
	struct error err = { "" };
	uint8_t *blob;
	size_t len, plen;
	int i;

	(void)state;
	require_tpms();
	cfg_for(&cfg, &g.a, NULL);
	blob = wrap(&cfg, &len);
	assert_int_equal(seal_blob_parse(blob, len, name, &payload, &plen,
	    &err), 0);
	assert_string_equal(name, "tpm2");
	assert_int_equal(seal_tpm2_payload_parse(payload, plen, &tp, &err), 0);
	assert_int_equal(tp.pcrs.n, 0);
	/* The sealed secret is not in the blob in clear. */
	assert_null(memmem(blob, len, secret, 8));
	/* Repeatedly: every transient object and session is flushed (swtpm
	 * has no resource manager and only three object slots). */
	for (i = 0; i < 8; i++)
		unwrap_ok(&cfg, blob, len);
	/* Sealing is not deterministic but both open. */
	{
		size_t len2;
		uint8_t *blob2 = wrap(&cfg, &len2);

		assert_false(len2 == len && memcmp(blob, blob2, len) == 0);
		unwrap_ok(&cfg, blob2, len2);
		free(blob2);
	}
	free(blob);
}

static void
test_pcrs_then_extend(void **state)
{
	struct seal_config cfg;
	const uint8_t *payload;
	struct seal_tpm2_payload tp;
	char name[SEAL_NAME_MAX + 1], desc[256];
	struct error err = { "" };
	const char *msg;
	uint8_t *blob, *blob16;
	size_t len, plen, len16;

	(void)state;
	require_tpms();
	cfg_for(&cfg, &g.a, "sha256:0,7");
	seal_tpm2.describe(&cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, "PCRs sha256:0,7"));
	blob = wrap(&cfg, &len);
	assert_int_equal(seal_blob_parse(blob, len, name, &payload, &plen,
	    &err), 0);
	assert_int_equal(seal_tpm2_payload_parse(payload, plen, &tp, &err), 0);
	assert_int_equal(tp.pcrs.alg, 0x000b);	/* TPM2_ALG_SHA256 */
	assert_int_equal(tp.pcrs.n, 2);
	unwrap_ok(&cfg, blob, len);
	unwrap_ok(&cfg, blob, len);

	/* Another selection, PCR 16, sealed before the extend below. */
	cfg.tpm2_pcrs = "sha256:16";
	blob16 = wrap(&cfg, &len16);
	unwrap_ok(&cfg, blob16, len16);

	/* PCR 7 extended after sealing: refused, naming the PCRs. */
	pcr_extend(&g.a, 7);
	cfg.tpm2_pcrs = "sha256:0,7";
	msg = unwrap_fail(&cfg, blob, len);
	assert_string_equal(msg, "tpm2: unseal refused: PCR policy not "
	    "satisfied (sha256:0,7 changed since sealing; PCRs that differ: "
	    "7)");
	/* A blob bound to a PCR that did not change still opens (the PCR
	 * selection comes from the blob, not the configuration). */
	unwrap_ok(&cfg, blob16, len16);
	pcr_extend(&g.a, 16);
	msg = unwrap_fail(&cfg, blob16, len16);
	assert_non_null(strstr(msg, "sha256:16 changed since sealing; PCRs "
	    "that differ: 16"));

	/* Sealing again now binds the new values. */
	free(blob);
	blob = wrap(&cfg, &len);
	unwrap_ok(&cfg, blob, len);

	/* Doctored PCR values in the blob: the TPM compares them with the
	 * current PCRs and refuses. */
	assert_int_equal(seal_blob_parse(blob, len, name, &payload, &plen,
	    &err), 0);
	blob[(size_t)(payload - blob) + 5 + 2 + 32] ^= 1;   /* PCR 7's value */
	msg = unwrap_fail(&cfg, blob, len);
	assert_non_null(strstr(msg, "PCR policy not satisfied"));
	assert_non_null(strstr(msg, "PCRs that differ: 7"));
	free(blob);
	free(blob16);
}

static void
test_other_tpm(void **state)
{
	struct seal_config cfg_a, cfg_b;
	const char *msg;
	uint8_t *blob;
	size_t len;
	char want[160];

	(void)state;
	require_tpms();
	cfg_for(&cfg_a, &g.a, NULL);
	cfg_for(&cfg_b, &g.b, NULL);
	blob = wrap(&cfg_a, &len);
	unwrap_ok(&cfg_a, blob, len);
	msg = unwrap_fail(&cfg_b, blob, len);
	snprintf(want, sizeof(want), "tpm2 (%s): unseal refused: the sealed "
	    "object does not belong to this TPM", g.b.tcti);
	if (strstr(msg, want) == NULL)
		fail_msg("'%s' does not contain '%s'", msg, want);
	free(blob);

	/* The same with PCRs: refused at load, before any policy. */
	cfg_a.tpm2_pcrs = cfg_b.tpm2_pcrs = "sha256:1";
	blob = wrap(&cfg_a, &len);
	unwrap_ok(&cfg_a, blob, len);
	msg = unwrap_fail(&cfg_b, blob, len);
	assert_non_null(strstr(msg, "does not belong to this TPM"));
	/* And B still works for its own blobs. */
	free(blob);
	blob = wrap(&cfg_b, &len);
	unwrap_ok(&cfg_b, blob, len);
	free(blob);
}

static void
test_tampered_object(void **state)
{
	struct seal_config cfg;
	const uint8_t *payload;
	char name[SEAL_NAME_MAX + 1];
	struct error err = { "" };
	const char *msg;
	uint8_t *blob;
	size_t len, plen;

	(void)state;
	require_tpms();
	cfg_for(&cfg, &g.a, NULL);
	blob = wrap(&cfg, &len);
	assert_int_equal(seal_blob_parse(blob, len, name, &payload, &plen,
	    &err), 0);
	/* The last byte of TPM2B_PRIVATE (its encrypted sensitive area). */
	blob[len - 1] ^= 1;
	msg = unwrap_fail(&cfg, blob, len);
	assert_non_null(strstr(msg, "unseal refused"));
	free(blob);
}

static void
test_no_tpm(void **state)
{
	struct seal_config cfg;
	struct error err = { "" };
	uint8_t *blob = NULL;
	size_t len = 0;
	int port;

	(void)state;
	require_tpms();
	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = "tpm2";
	cfg.passphrase_fd = -1;
	cfg.tpm2_tcti = "device:/nonexistent/tpmrm0";
	assert_int_equal(seal_wrap(&cfg, secret, sizeof(secret), &blob, &len,
	    &err), -1);
	assert_non_null(strstr(err.msg, "tpm2: cannot reach the TPM at "
	    "'device:/nonexistent/tpmrm0'"));
	for (port = g.a.port + 2; port < 65000; port += 7)
		if (port_free(port) && !port_listening(port))
			break;
	{
		char tcti[64];

		snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d",
		    port);
		cfg.tpm2_tcti = tcti;
		assert_int_equal(seal_wrap(&cfg, secret, sizeof(secret), &blob,
		    &len, &err), -1);
		assert_non_null(strstr(err.msg, "cannot reach the TPM"));
	}
	cfg.tpm2_tcti = "nosuchtcti:foo";
	assert_int_equal(seal_wrap(&cfg, secret, sizeof(secret), &blob, &len,
	    &err), -1);
	assert_non_null(strstr(err.msg, "cannot reach the TPM"));
	/* A bad PCR selection fails before any TPM is touched. */
	cfg.tpm2_pcrs = "sha256:99";
	assert_int_equal(seal_wrap(&cfg, secret, sizeof(secret), &blob, &len,
	    &err), -1);
	assert_non_null(strstr(err.msg, "0..23"));
	assert_null(blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_pcrs),
		cmocka_unit_test(test_pcrs_then_extend),
		cmocka_unit_test(test_other_tpm),
		cmocka_unit_test(test_tampered_object),
		cmocka_unit_test(test_no_tpm),
	};

	log_init("test_seal_tpm", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

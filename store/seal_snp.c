/*
 * seal_snp.c: the SEV-SNP sealer. The wrapping key comes from the AMD
 * secure processor: SNP_GET_DERIVED_KEY on /dev/sev-guest returns a
 * 32-byte key that the firmware derives from a root key and the guest
 * fields the request selects. Only a guest with the same selected fields
 * on the same chip gets the same key, so the secret sealed under it opens
 * only there. Payload format in seal_internal.h.
 *
 * The choices (also in docs/sealing.md):
 *
 * - Root key: the VCEK (ROOT_KEY_SELECT 0), the chip-unique key the
 *   firmware derives from the chip's secret and its TCB. Not the VMRK:
 *   the firmware makes a new random VMRK for every launch unless a
 *   migration agent supplies one, so a VMRK-derived key would not survive
 *   a restart of the guest, and a key sealed into the database must.
 *   Consequence: the sealed key opens on this physical machine only;
 *   moving the guest to another host means joining it as a new instance.
 *
 * - GUEST_FIELD_SELECT = 0x9: bit 0 (guest policy) and bit 3 (launch
 *   measurement). The measurement covers the initial guest image (the
 *   firmware, and with measured direct boot the kernel, initrd and
 *   command line), so another image gets another key; the policy covers
 *   debug, SMT, migration-agent and minimum ABI settings, so the same
 *   image relaunched with debugging allowed (which would let the host
 *   read guest memory) gets another key. Not selected: image id and
 *   family id (chosen by whoever signs the ID block, not by what runs),
 *   guest SVN (only meaningful with an ID block; recorded as 0), TCB
 *   version (recorded as 0; mixing it in would only pin the key to one
 *   firmware version explicitly), launch mitigation vector (needs message
 *   version 2, which the uapi struct cannot express).
 *
 * - VMPL 0: the key is the one only VMPL 0 software can request. Under
 *   an SVSM (Linux at VMPL > 0) the firmware refuses; untested here.
 *
 * The firmware's key is not used directly: a KDF subkey of it (context
 * "tsealsnp") keys XChaCha20-Poly1305 over the secret, with the request
 * parameters (the payload header) as associated data.
 *
 * The ioctl itself is one function (seal_snp_ioctl); request building,
 * response parsing, key derivation and the payload are separate and
 * tested with a fake guest request (tests/unit/test_seal_snp.c). What needs
 * real hardware: that the firmware accepts the request and that the key
 * is stable across restarts and changes with the measurement.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "seal_internal.h"

#define SEAL_SNP_DEVICE		"/dev/sev-guest"
#define SEAL_SNP_KDF_CONTEXT	"tsealsnp"
#define SEAL_SNP_KDF_ID		1

/* The uapi structs against the firmware ABI's MSG_KEY_REQ (32 bytes:
 * ROOT_KEY_SELECT 0x00, reserved 0x04, GUEST_FIELD_SELECT 0x08, VMPL
 * 0x10, GUEST_SVN 0x14, TCB_VERSION 0x18) and MSG_KEY_RSP (64 bytes:
 * STATUS 0x00, reserved 0x04..0x1f, DERIVED_KEY 0x20..0x3f). */
_Static_assert(sizeof(struct snp_derived_key_req) == 32,
    "MSG_KEY_REQ is 32 bytes");
_Static_assert(offsetof(struct snp_derived_key_req, root_key_select) == 0x00,
    "ROOT_KEY_SELECT at 0x00");
_Static_assert(offsetof(struct snp_derived_key_req, guest_field_select) ==
    0x08, "GUEST_FIELD_SELECT at 0x08");
_Static_assert(offsetof(struct snp_derived_key_req, vmpl) == 0x10,
    "VMPL at 0x10");
_Static_assert(offsetof(struct snp_derived_key_req, guest_svn) == 0x14,
    "GUEST_SVN at 0x14");
_Static_assert(offsetof(struct snp_derived_key_req, tcb_version) == 0x18,
    "TCB_VERSION at 0x18");
_Static_assert(sizeof(struct snp_derived_key_resp) == 64,
    "MSG_KEY_RSP is 64 bytes");
_Static_assert(SEAL_SNP_RSP_KEY_OFFSET + SEAL_SNP_KEY_LEN == 64,
    "DERIVED_KEY ends the response");
/* The ioctl argument as the kernel reads it (x86-64: msg_version, two
 * pointers, exitinfo2). */
_Static_assert(sizeof(struct snp_guest_request_ioctl) == 32,
    "struct snp_guest_request_ioctl is 32 bytes");
_Static_assert(offsetof(struct snp_guest_request_ioctl, req_data) == 8,
    "req_data at 8");
_Static_assert(offsetof(struct snp_guest_request_ioctl, resp_data) == 16,
    "resp_data at 16");
_Static_assert(offsetof(struct snp_guest_request_ioctl, exitinfo2) == 24,
    "exitinfo2 at 24");

static const char *
seal_snp_device(const struct seal_config *cfg)
{
	return cfg->snp_device != NULL && cfg->snp_device[0] != '\0' ?
	    cfg->snp_device : SEAL_SNP_DEVICE;
}

void
seal_snp_params_default(struct seal_snp_params *params)
{
	memset(params, 0, sizeof(*params));
	params->root_key_select = SEAL_SNP_ROOT_VCEK;
	params->field_select = SEAL_SNP_FIELD_REQUIRED;
	params->vmpl = 0;
	params->guest_svn = 0;
	params->tcb_version = 0;
}

void
seal_snp_request_build(const struct seal_snp_params *params,
    struct snp_derived_key_req *req, struct snp_derived_key_resp *resp,
    struct snp_guest_request_ioctl *ioc)
{
	memset(req, 0, sizeof(*req));
	memset(resp, 0, sizeof(*resp));
	memset(ioc, 0, sizeof(*ioc));
	req->root_key_select = params->root_key_select;
	req->rsvd = 0;
	req->guest_field_select = params->field_select;
	req->vmpl = params->vmpl;
	req->guest_svn = params->guest_svn;
	req->tcb_version = params->tcb_version;
	ioc->msg_version = SEAL_SNP_MSG_VERSION;
	ioc->req_data = (uint64_t)(uintptr_t)req;
	ioc->resp_data = (uint64_t)(uintptr_t)resp;
}

int
seal_snp_response_key(const struct snp_derived_key_resp *resp,
    uint8_t key[SEAL_SNP_KEY_LEN], struct error *err)
{
	uint32_t status;

	/* STATUS is little-endian, like everything the firmware writes. */
	status = (uint32_t)resp->data[0] | (uint32_t)resp->data[1] << 8 |
	    (uint32_t)resp->data[2] << 16 | (uint32_t)resp->data[3] << 24;
	if (status != 0)
		return error_set(err, "snp: the secure processor refused the "
		    "key request: MSG_KEY_RSP status 0x%x%s", status,
		    status == 0x16 ? " (invalid parameters: a VMPL below the "
		    "guest's, an SVN or TCB above the launch's?)" : "");
	memcpy(key, resp->data + SEAL_SNP_RSP_KEY_OFFSET, SEAL_SNP_KEY_LEN);
	return 0;
}

int
seal_snp_ioctl(void *arg, const char *device,
    struct snp_guest_request_ioctl *ioc, struct error *err)
{
	int fd, rc, e;

	(void)arg;
	if ((fd = open(device, O_RDWR | O_CLOEXEC)) == -1) {
		e = errno;
		if (e == ENOENT)
			return error_set(err, "snp: %s does not exist: this is "
			    "not an SEV-SNP guest, or the sev-guest driver is "
			    "not loaded (choose another sealer: tpm2 or "
			    "passphrase)", device);
		return error_set(err, "snp: cannot open %s: %s", device,
		    strerror(e));
	}
	do {
		rc = ioctl(fd, SNP_GET_DERIVED_KEY, ioc);
	} while (rc == -1 && errno == EINTR);
	e = errno;
	close(fd);
	if (rc == -1)
		return error_set(err, "snp: SNP_GET_DERIVED_KEY on %s failed: "
		    "%s (firmware error 0x%x, VMM error 0x%x)", device,
		    strerror(e), ioc->fw_error, ioc->vmm_error);
	return 0;
}

/* The wrapping key for params (sodium_malloc'd; NULL with err set). */
static uint8_t *
seal_snp_wrap_key(seal_snp_request_fn fn, void *arg, const char *device,
    const struct seal_snp_params *params, struct error *err)
{
	struct snp_derived_key_req req;
	struct snp_derived_key_resp resp;
	struct snp_guest_request_ioctl ioc;
	uint8_t *fw, *wk;
	int rc;

	if (sodium_init() < 0) {
		error_set(err, "snp: libsodium failed to initialise");
		return NULL;
	}
	fw = sodium_malloc(SEAL_SNP_KEY_LEN);
	wk = sodium_malloc(SEAL_KEY_LEN);
	if (fw == NULL || wk == NULL)
		fatalx("snp: out of secure memory");
	seal_snp_request_build(params, &req, &resp, &ioc);
	rc = fn(arg, device, &ioc, err);
	if (rc == 0)
		rc = seal_snp_response_key(&resp, fw, err);
	sodium_memzero(&resp, sizeof(resp));
	if (rc == 0)
		crypto_kdf_derive_from_key(wk, SEAL_KEY_LEN, SEAL_SNP_KDF_ID,
		    SEAL_SNP_KDF_CONTEXT, fw);
	sodium_free(fw);
	if (rc != 0) {
		sodium_free(wk);
		return NULL;
	}
	return wk;
}

static void
seal_snp_header(const struct seal_snp_params *params, struct buf *b)
{
	seal_put_u8(b, SEAL_SNP_V1);
	seal_put_u8(b, SEAL_SNP_MSG_VERSION);
	seal_put_u32(b, params->root_key_select);
	seal_put_u64(b, params->field_select);
	seal_put_u32(b, params->vmpl);
	seal_put_u32(b, params->guest_svn);
	seal_put_u64(b, params->tcb_version);
}

int
seal_snp_payload_parse(const uint8_t *p, size_t len,
    struct seal_snp_payload *out, struct error *err)
{
	struct seal_rd r = { p, len };
	struct seal_snp_params *sp = &out->params;
	uint8_t version;

	memset(out, 0, sizeof(*out));
	if (seal_rd_u8(&r, &version) == -1)
		return error_set(err, "snp: empty payload");
	if (version != SEAL_SNP_V1)
		return error_set(err, "snp: unknown payload version %u",
		    version);
	if (seal_rd_u8(&r, &out->msg_version) == -1 ||
	    seal_rd_u32(&r, &sp->root_key_select) == -1 ||
	    seal_rd_u64(&r, &sp->field_select) == -1 ||
	    seal_rd_u32(&r, &sp->vmpl) == -1 ||
	    seal_rd_u32(&r, &sp->guest_svn) == -1 ||
	    seal_rd_u64(&r, &sp->tcb_version) == -1)
		return error_set(err, "snp: payload truncated in the key "
		    "request parameters");
	if (out->msg_version != SEAL_SNP_MSG_VERSION)
		return error_set(err, "snp: unsupported guest message version "
		    "%u", out->msg_version);
	if (sp->root_key_select != SEAL_SNP_ROOT_VCEK)
		return error_set(err, "snp: root key select %u refused (only "
		    "0, the VCEK: a VMRK-derived key changes at every launch)",
		    sp->root_key_select);
	if ((sp->field_select & ~(uint64_t)SEAL_SNP_FIELD_KNOWN_V1) != 0)
		return error_set(err, "snp: guest field select 0x%llx has "
		    "unknown bits", (unsigned long long)sp->field_select);
	if ((sp->field_select & SEAL_SNP_FIELD_REQUIRED) !=
	    SEAL_SNP_FIELD_REQUIRED)
		return error_set(err, "snp: guest field select 0x%llx refused: "
		    "it must bind the guest policy and the launch measurement "
		    "(0x%x)", (unsigned long long)sp->field_select,
		    SEAL_SNP_FIELD_REQUIRED);
	if (sp->vmpl > 3)
		return error_set(err, "snp: VMPL %u out of range 0..3",
		    sp->vmpl);
	if (seal_box_check("snp", r.left, err) == -1)
		return -1;
	out->hdr = p;
	out->hdr_len = SEAL_SNP_HDR_LEN;
	out->box = r.p;
	out->box_len = r.left;
	return 0;
}

int
seal_snp_seal_with(seal_snp_request_fn fn, void *arg,
    const struct seal_config *cfg, const uint8_t *secret, size_t len,
    uint8_t **payload, size_t *payload_len, struct error *err)
{
	struct seal_snp_params params;
	struct buf b = { 0 };
	uint8_t *wk;

	*payload = NULL;
	*payload_len = 0;
	if (seal_secret_check("snp", len, err) == -1)
		return -1;
	seal_snp_params_default(&params);
	if ((wk = seal_snp_wrap_key(fn, arg, seal_snp_device(cfg), &params,
	    err)) == NULL)
		return -1;
	seal_snp_header(&params, &b);
	seal_box_close(wk, b.data, SEAL_SNP_HDR_LEN, secret, len, &b);
	sodium_free(wk);
	*payload = b.data;
	*payload_len = b.len;
	return 0;
}

int
seal_snp_unseal_with(seal_snp_request_fn fn, void *arg,
    const struct seal_config *cfg, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	struct seal_snp_payload sp;
	struct error inner = { "" };
	uint8_t *wk;
	int rc;

	*len = 0;
	if (seal_snp_payload_parse(payload, payload_len, &sp, err) == -1)
		return -1;
	if ((wk = seal_snp_wrap_key(fn, arg, seal_snp_device(cfg), &sp.params,
	    err)) == NULL)
		return -1;
	rc = seal_box_open(wk, sp.hdr, sp.hdr_len, sp.box, sp.box_len, out,
	    cap, len, &inner);
	sodium_free(wk);
	if (rc == -1) {
		if (inner.msg[0] != '\0')
			return error_set(err, "snp: %s", inner.msg);
		return error_set(err, "snp: unseal refused: the key derived "
		    "for guest fields 0x%llx differs from the one that sealed "
		    "(another launch measurement or guest policy, another "
		    "host, a changed platform TCB, or an altered sealed key)",
		    (unsigned long long)sp.params.field_select);
	}
	return 0;
}

static int
seal_snp_seal(const struct seal_config *cfg, const uint8_t *secret,
    size_t len, uint8_t **payload, size_t *payload_len, struct error *err)
{
	return seal_snp_seal_with(seal_snp_ioctl, NULL, cfg, secret, len,
	    payload, payload_len, err);
}

static int
seal_snp_unseal(const struct seal_config *cfg, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	return seal_snp_unseal_with(seal_snp_ioctl, NULL, cfg, payload,
	    payload_len, out, cap, len, err);
}

static void
seal_snp_describe(const struct seal_config *cfg, char *buf, size_t cap)
{
	snprintf(buf, cap, "snp (%s; VCEK-derived key bound to the launch "
	    "measurement and guest policy, fields 0x%x)",
	    seal_snp_device(cfg), SEAL_SNP_FIELD_REQUIRED);
}

const struct sealer seal_snp = {
	.name = "snp",
	.seal = seal_snp_seal,
	.unseal = seal_snp_unseal,
	.describe = seal_snp_describe,
	.insecure = 0,
};

/*
 * attest_snp.c: the AMD SEV-SNP attester. The report comes from
 * configfs-tsm (provider sev_guest: outblob is the report, auxblob the
 * certificate table the host attached) or, on kernels without it, from
 * /dev/sev-guest SNP_GET_EXT_REPORT (the AA's sev crate call
 * get_ext_report(None, Some(data), Some(0)): VMPL 0, certificates in a
 * page-aligned buffer grown to what the host asks for). The evidence is
 * the sev crate's serde of AttestationReport plus the certificate table as
 * a list of CertTableEntry, the AA's SnpEvidence.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sev-guest.h>
#include <sodium.h>

#include "../lib/log.h"
#include "../verifier/snp.h"
#include "attest.h"

#define SNP_CERT_ENTRY_LEN	24	/* GUID, u32 offset, u32 length */
#define SNP_CERT_ENTRIES_MAX	64
#define SNP_CERTS_MAX		(256u * 1024)	/* host may ask */
#define SNP_RESP_HDR		32	/* MSG_REPORT_RSP header */
#define SNP_PAGE		4096u

/* The GUIDs of the GHCB certificate table (byte order as written). */
static const struct {
	const char *name;
	uint8_t guid[16];
} snp_cert_types[] = {
	{ "ARK", { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43,
	    0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae } },
	{ "ASK", { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f,
	    0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 } },
	{ "VCEK", { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5,
	    0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd } },
	{ "VLEK", { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6,
	    0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 } },
	{ "CRL", { 0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff,
	    0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea } },
};

static uint32_t
snp_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* {"OTHER": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}, the sev crate's
 * serde of CertType::OTHER(Uuid). */
static json_t *
snp_cert_type_json(const uint8_t guid[16])
{
	char s[37], hex[33];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(snp_cert_types); i++)
		if (memcmp(guid, snp_cert_types[i].guid, 16) == 0)
			return json_string(snp_cert_types[i].name);
	hex_encode(guid, 16, hex);
	snprintf(s, sizeof(s), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
	return json_pack("{s:s}", "OTHER", s);
}

static json_t *
snp_bytes_json(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

int
attest_snp_certs_parse(const uint8_t *t, size_t len, json_t **out,
    struct error *err)
{
	static const uint8_t zero[SNP_CERT_ENTRY_LEN];
	json_t *chain;
	size_t i, off;

	*out = NULL;
	if (len == 0 || (len >= SNP_CERT_ENTRY_LEN &&
	    memcmp(t, zero, SNP_CERT_ENTRY_LEN) == 0)) {
		*out = json_null();
		return 0;
	}
	chain = json_array();
	for (i = 0, off = 0;; i++, off += SNP_CERT_ENTRY_LEN) {
		uint32_t o, l;

		if (len - off < SNP_CERT_ENTRY_LEN) {
			json_decref(chain);
			return error_set(err, "SNP certificate table: "
			    "entry %zu truncated (no all-zero terminator)",
			    i);
		}
		if (memcmp(t + off, zero, SNP_CERT_ENTRY_LEN) == 0)
			break;
		if (i == SNP_CERT_ENTRIES_MAX) {
			json_decref(chain);
			return error_set(err, "SNP certificate table: more "
			    "than %d entries", SNP_CERT_ENTRIES_MAX);
		}
		o = snp_le32(t + off + 16);
		l = snp_le32(t + off + 20);
		if (l == 0 || o > len || l > len - o) {
			json_decref(chain);
			return error_set(err, "SNP certificate table: "
			    "entry %zu (offset %u, length %u) lies outside the "
			    "%zu-byte table", i, o, l, len);
		}
		json_array_append_new(chain, json_pack("{s:o, s:o}",
		    "cert_type", snp_cert_type_json(t + off),
		    "data", snp_bytes_json(t + o, l)));
	}
	if (json_array_size(chain) == 0) {
		json_decref(chain);
		chain = json_null();
	}
	*out = chain;
	return 0;
}

int
attest_snp_evidence_build(const uint8_t *report, size_t len,
    const uint8_t *certs, size_t certs_len, json_t **evidence,
    struct error *err)
{
	struct snp_report r;
	json_t *rep, *chain;

	*evidence = NULL;
	if (snp_report_parse(report, len, &r, err) != 0)
		return error_prefix(err, "SNP report");
	if ((rep = snp_report_to_json(&r)) == NULL)
		return error_set(err, "SNP report: a 64-bit field has bit 63 "
		    "set, which the evidence JSON cannot carry");
	if (attest_snp_certs_parse(certs, certs_len, &chain, err) != 0) {
		json_decref(rep);
		return -1;
	}
	*evidence = json_pack("{s:o, s:o}", "attestation_report", rep,
	    "cert_chain", chain);
	if (*evidence == NULL)
		return error_set(err, "cannot build SNP evidence");
	return 0;
}

int
attest_snp_resp_parse(const uint8_t *resp, size_t len,
    const uint8_t **report, size_t *report_len, struct error *err)
{
	uint32_t status, size;

	if (len < SNP_RESP_HDR)
		return error_set(err, "SNP report response: truncated");
	status = snp_le32(resp);
	size = snp_le32(resp + 4);
	if (status != 0)
		return error_set(err, "SNP report response: firmware status "
		    "0x%x", status);
	if (size != SNP_REPORT_SIZE || size > len - SNP_RESP_HDR)
		return error_set(err, "SNP report response: report size %u "
		    "(expected %d)", size, SNP_REPORT_SIZE);
	*report = resp + SNP_RESP_HDR;
	*report_len = size;
	return 0;
}

/* SNP_GET_EXT_REPORT on /dev/sev-guest; *certs (page-aligned, free())
 * gets the certificate table, *certs_len its buffer size. */
static int
snp_ioctl_report(const char *dev, const uint8_t rd[64], uint8_t **certs,
    size_t *certs_len, uint8_t report[SNP_REPORT_SIZE], struct error *err)
{
	struct snp_ext_report_req req;
	struct snp_report_resp resp;
	struct snp_guest_request_ioctl io;
	const uint8_t *rep;
	size_t replen, cap = 4 * SNP_PAGE;
	int fd, tries, rc = -1;

	*certs = NULL;
	*certs_len = 0;
	if ((fd = open(dev, O_RDWR | O_CLOEXEC)) == -1)
		return error_set(err, "%s: %s", dev, strerror(errno));
	for (tries = 0; tries < 4; tries++) {
		free(*certs);
		if ((*certs = aligned_alloc(SNP_PAGE, cap)) == NULL) {
			error_set(err, "out of memory");
			goto out;
		}
		memset(*certs, 0, cap);
		memset(&req, 0, sizeof(req));
		memcpy(req.data.user_data, rd, 64);
		req.data.vmpl = 0;
		req.certs_address = (uint64_t)(uintptr_t)*certs;
		req.certs_len = (uint32_t)cap;
		memset(&resp, 0, sizeof(resp));
		memset(&io, 0, sizeof(io));
		io.msg_version = 1;
		io.req_data = (uint64_t)(uintptr_t)&req;
		io.resp_data = (uint64_t)(uintptr_t)&resp;
		if (ioctl(fd, SNP_GET_EXT_REPORT, &io) == 0)
			break;
		if (io.vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN &&
		    req.certs_len > cap && req.certs_len <= SNP_CERTS_MAX) {
			/* The host has more certificates than fit. */
			cap = (req.certs_len + SNP_PAGE - 1) / SNP_PAGE *
			    SNP_PAGE;
			continue;
		}
		error_set(err, "%s: SNP_GET_EXT_REPORT: %s (firmware error "
		    "0x%x, VMM error 0x%x)", dev, strerror(errno), io.fw_error,
		    io.vmm_error);
		goto out;
	}
	if (tries == 4) {
		error_set(err, "%s: SNP_GET_EXT_REPORT: the certificate buffer "
		    "size kept changing", dev);
		goto out;
	}
	if (attest_snp_resp_parse(resp.data, sizeof(resp.data), &rep, &replen,
	    err) != 0)
		goto out;
	memcpy(report, rep, SNP_REPORT_SIZE);
	*certs_len = cap;
	rc = 0;
out:
	if (rc != 0) {
		free(*certs);
		*certs = NULL;
	}
	close(fd);
	sodium_memzero(&resp, sizeof(resp));
	return rc;
}

static int
snp_detect(const struct attest_cfg *cfg)
{
	struct error err;
	char prov[32];

	if (attest_tsm_provider(cfg, prov, sizeof(prov), &err) == 0)
		return strcmp(prov, "sev_guest") == 0;
	if (cfg->tsm_dir != NULL)
		return 0;
	return access(cfg->sev_dev ? cfg->sev_dev : ATTEST_SEV_DEV, F_OK) == 0;
}

static int
snp_evidence(const struct attest_cfg *cfg, const uint8_t *rd, size_t rdlen,
    json_t **evidence, struct error *err)
{
	struct attest_tsm_report tr;
	struct error terr = { "" };
	uint8_t in[64], report[SNP_REPORT_SIZE], *certs = NULL;
	size_t certs_len = 0;
	int rc;

	if (attest_pad(rd, rdlen, in, sizeof(in), "SNP", err) != 0)
		return -1;
	if (attest_tsm_get(cfg, "sev_guest", in, &tr, &terr) == 0) {
		/* The outblob is the report; tolerate a zero tail. */
		if (tr.outblob_len > SNP_REPORT_SIZE &&
		    sodium_is_zero(tr.outblob + SNP_REPORT_SIZE,
		    tr.outblob_len - SNP_REPORT_SIZE))
			tr.outblob_len = SNP_REPORT_SIZE;
		rc = attest_snp_evidence_build(tr.outblob, tr.outblob_len,
		    tr.auxblob, tr.auxblob_len, evidence, err);
		attest_tsm_report_clear(&tr);
		return rc;
	}
	/* An explicit --tsm-dir means configfs-tsm only. */
	if (cfg->tsm_dir != NULL) {
		memcpy(err->msg, terr.msg, sizeof(err->msg));
		return -1;
	}
	log_debug("snp: configfs-tsm not usable (%s); trying %s", terr.msg,
	    cfg->sev_dev ? cfg->sev_dev : ATTEST_SEV_DEV);
	if (snp_ioctl_report(cfg->sev_dev ? cfg->sev_dev : ATTEST_SEV_DEV, in,
	    &certs, &certs_len, report, err) != 0) {
		error_prefix(err, "configfs-tsm: %s; and", terr.msg);
		return -1;
	}
	rc = attest_snp_evidence_build(report, sizeof(report), certs,
	    certs_len, evidence, err);
	free(certs);
	return rc;
}

const struct attester attest_snp = {
	.name = "snp",
	.tee = "snp",
	.detect = snp_detect,
	.evidence = snp_evidence,
};

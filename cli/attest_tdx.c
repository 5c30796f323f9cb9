/*
 * attest_tdx.c: the Intel TDX attester. The quote comes from configfs-tsm
 * (provider tdx_guest: outblob is the TD quote), or on older kernels from
 * /dev/tdx_guest: TDX_CMD_GET_REPORT0 gives the TDREPORT for our
 * REPORTDATA, then TDX_CMD_GET_QUOTE hands it to the host's quote
 * generation service (QGS message GET_QUOTE_REQ, behind a big-endian
 * length, in a tdx_quote_hdr buffer) and waits for the quote, as Intel's
 * libtdx_attest (the AA's fallback) does. The evidence is the AA's
 * TdxEvidence: {"cc_eventlog": base64 of the CCEL table data or null,
 * "quote": base64 of the quote}.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/ioctl.h>
#include <linux/types.h>

#include "../lib/b64.h"
#include "../lib/log.h"
#include "attest.h"

#define TDX_REPORT_LEN		1024
#define TDX_QUOTE_MAX		(64u * 1024)
#define TDX_CCEL_MAX		(16u * 1024 * 1024)
#define TDX_QUOTE_BUF		(16u * 1024)	/* as libtdx_attest */
#define TDX_QGS_HDR_LEN		16
#define TDX_QGS_GET_QUOTE_REQ	0
#define TDX_QGS_GET_QUOTE_RESP	1
#define TDX_GET_QUOTE_SUCCESS	0

/* The /dev/tdx_guest ABI (Linux uapi/linux/tdx-guest.h, and the quote
 * ioctl of the TDX guest driver that predates configfs-tsm). */
struct tdx_report_req {
	__u8 reportdata[64];
	__u8 tdreport[TDX_REPORT_LEN];
};
struct tdx_quote_hdr {
	__u64 version;		/* 1 */
	__u64 status;		/* filled by the VMM */
	__u32 in_len;		/* request bytes after the header */
	__u32 out_len;		/* response bytes after the header */
	__u8 data[];
};
struct tdx_quote_req {
	__u64 buf;
	__u64 len;
};
#define TDX_CMD_GET_REPORT0	_IOWR('T', 1, struct tdx_report_req)
#define TDX_CMD_GET_QUOTE	_IOR('T', 4, struct tdx_quote_req)

static void
tdx_put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
tdx_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
attest_tdx_qgs_request(const uint8_t tdreport[1024],
    uint8_t out[ATTEST_TDX_QGS_REQ_LEN])
{
	uint32_t msg = ATTEST_TDX_QGS_REQ_LEN - 4;

	out[0] = (uint8_t)(msg >> 24);
	out[1] = (uint8_t)(msg >> 16);
	out[2] = (uint8_t)(msg >> 8);
	out[3] = (uint8_t)msg;
	out[4] = 1;		/* major version (u16) */
	out[5] = 0;
	out[6] = 0;		/* minor version */
	out[7] = 0;
	tdx_put32le(out + 8, TDX_QGS_GET_QUOTE_REQ);
	tdx_put32le(out + 12, msg);
	tdx_put32le(out + 16, 0);	/* error code */
	tdx_put32le(out + 20, TDX_REPORT_LEN);
	tdx_put32le(out + 24, 0);	/* id_list_size */
	memcpy(out + 28, tdreport, TDX_REPORT_LEN);
}

int
attest_tdx_qgs_response(const uint8_t *resp, size_t len,
    const uint8_t **quote, size_t *quote_len, struct error *err)
{
	uint32_t type, size, ecode, idsz, qsz;

	if (len < TDX_QGS_HDR_LEN + 8)
		return error_set(err, "QGS response: %zu bytes, truncated",
		    len);
	if (resp[0] != 1 || resp[1] != 0)
		return error_set(err, "QGS response: major version %u",
		    (unsigned)resp[0] | (unsigned)resp[1] << 8);
	type = tdx_le32(resp + 4);
	size = tdx_le32(resp + 8);
	ecode = tdx_le32(resp + 12);
	if (type != TDX_QGS_GET_QUOTE_RESP)
		return error_set(err, "QGS response: message type %u", type);
	if (ecode != 0)
		return error_set(err, "QGS response: error code 0x%x", ecode);
	if (size < TDX_QGS_HDR_LEN + 8 || size > len)
		return error_set(err, "QGS response: size %u for %zu bytes",
		    size, len);
	idsz = tdx_le32(resp + 16);
	qsz = tdx_le32(resp + 20);
	if (qsz == 0 || idsz > size - 24 || qsz > size - 24 - idsz)
		return error_set(err, "QGS response: id (%u) and quote (%u) "
		    "sizes exceed the message (%u)", idsz, qsz, size);
	*quote = resp + 24 + idsz;
	*quote_len = qsz;
	return 0;
}

int
attest_tdx_evidence_build(const uint8_t *quote, size_t len,
    const uint8_t *ccel, size_t ccel_len, json_t **evidence,
    struct error *err)
{
	char *q, *c = NULL;
	unsigned version, tee;

	*evidence = NULL;
	if (len < 48)
		return error_set(err, "TD quote: %zu bytes, truncated", len);
	version = (unsigned)quote[0] | (unsigned)quote[1] << 8;
	tee = tdx_le32(quote + 4);
	if ((version != 4 && version != 5) || tee != 0x81)
		return error_set(err, "not a TD quote (version %u, TEE type "
		    "0x%x)", version, tee);
	q = b64_encode(quote, len, B64_STD);
	if (ccel != NULL)
		c = b64_encode(ccel, ccel_len, B64_STD);
	*evidence = json_pack("{s:o, s:s}", "cc_eventlog",
	    c != NULL ? json_string(c) : json_null(), "quote", q);
	free(q);
	free(c);
	if (*evidence == NULL)
		return error_set(err, "cannot build TDX evidence");
	return 0;
}

/* TDREPORT then GetQuote through the driver; *quote malloc'd. */
static int
tdx_ioctl_quote(const char *dev, const uint8_t rd[64], uint8_t **quote,
    size_t *quote_len, struct error *err)
{
	struct tdx_report_req rr;
	struct tdx_quote_req qr;
	struct tdx_quote_hdr *h = NULL;
	const uint8_t *q, *data;
	size_t qlen;
	uint32_t rlen;
	int fd, rc = -1;

	*quote = NULL;
	if ((fd = open(dev, O_RDWR | O_CLOEXEC)) == -1)
		return error_set(err, "%s: %s", dev, strerror(errno));
	memset(&rr, 0, sizeof(rr));
	memcpy(rr.reportdata, rd, 64);
	if (ioctl(fd, TDX_CMD_GET_REPORT0, &rr) != 0) {
		error_set(err, "%s: TDX_CMD_GET_REPORT0: %s", dev,
		    strerror(errno));
		goto out;
	}
	h = aligned_alloc(4096, TDX_QUOTE_BUF);
	if (h == NULL) {
		error_set(err, "out of memory");
		goto out;
	}
	memset(h, 0, TDX_QUOTE_BUF);
	h->version = 1;
	h->in_len = ATTEST_TDX_QGS_REQ_LEN;
	attest_tdx_qgs_request(rr.tdreport, h->data);
	qr.buf = (uint64_t)(uintptr_t)h;
	qr.len = TDX_QUOTE_BUF;
	if (ioctl(fd, TDX_CMD_GET_QUOTE, &qr) != 0) {
		error_set(err, "%s: TDX_CMD_GET_QUOTE: %s (this kernel may "
		    "only offer quotes through configfs-tsm)", dev,
		    strerror(errno));
		goto out;
	}
	if (h->status != TDX_GET_QUOTE_SUCCESS) {
		error_set(err, "%s: GetQuote status 0x%llx (is the host's "
		    "quote generation service running?)", dev,
		    (unsigned long long)h->status);
		goto out;
	}
	if (h->out_len < 4 || h->out_len > TDX_QUOTE_BUF - sizeof(*h)) {
		error_set(err, "%s: GetQuote answered %u bytes", dev,
		    h->out_len);
		goto out;
	}
	data = h->data;
	rlen = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	    (uint32_t)data[2] << 8 | data[3];
	if (rlen > h->out_len - 4) {
		error_set(err, "%s: GetQuote: message length %u exceeds the "
		    "answer", dev, rlen);
		goto out;
	}
	if (attest_tdx_qgs_response(data + 4, rlen, &q, &qlen, err) != 0)
		goto out;
	*quote = xmalloc(qlen);
	memcpy(*quote, q, qlen);
	*quote_len = qlen;
	rc = 0;
out:
	free(h);
	close(fd);
	return rc;
}

static int
tdx_detect(const struct attest_cfg *cfg)
{
	struct error err;
	char prov[32];

	if (attest_tsm_provider(cfg, prov, sizeof(prov), &err) == 0)
		return strcmp(prov, "tdx_guest") == 0;
	if (cfg->tsm_dir != NULL)
		return 0;
	return access(cfg->tdx_dev ? cfg->tdx_dev : ATTEST_TDX_DEV, F_OK) == 0;
}

static int
tdx_evidence(const struct attest_cfg *cfg, const uint8_t *rd, size_t rdlen,
    json_t **evidence, struct error *err)
{
	const char *ccp = cfg->ccel ? cfg->ccel : ATTEST_CCEL_PATH;
	struct attest_tsm_report tr;
	struct error terr = { "" }, cerr;
	uint8_t in[64], *quote = NULL, *ccel = NULL;
	size_t qlen = 0, ccel_len = 0;
	int rc;

	if (attest_pad(rd, rdlen, in, sizeof(in), "TDX", err) != 0)
		return -1;
	memset(&tr, 0, sizeof(tr));
	if (attest_tsm_get(cfg, "tdx_guest", in, &tr, &terr) == 0) {
		quote = tr.outblob;
		qlen = tr.outblob_len;
		tr.outblob = NULL;
		attest_tsm_report_clear(&tr);
	} else if (cfg->tsm_dir != NULL) {
		memcpy(err->msg, terr.msg, sizeof(err->msg));
		return -1;
	} else if (tdx_ioctl_quote(cfg->tdx_dev ? cfg->tdx_dev :
	    ATTEST_TDX_DEV, in, &quote, &qlen, err) != 0) {
		error_prefix(err, "configfs-tsm: %s; and", terr.msg);
		return -1;
	}
	/* The event log is optional (AA: null when unreadable). */
	if (access(ccp, F_OK) == 0 && file_read_all(ccp, TDX_CCEL_MAX, &ccel,
	    &ccel_len, &cerr) != 0) {
		log_warnx("tdx: %s; sending no event log", cerr.msg);
		ccel = NULL;
	}
	rc = attest_tdx_evidence_build(quote, qlen, ccel, ccel_len, evidence,
	    err);
	free(quote);
	free(ccel);
	return rc;
}

const struct attester attest_tdx = {
	.name = "tdx",
	.tee = "tdx",
	.detect = tdx_detect,
	.evidence = tdx_evidence,
};

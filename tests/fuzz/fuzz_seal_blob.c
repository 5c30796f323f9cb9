/*
 * fuzz_seal_blob.c: sealed key blobs as read from the (untrusted)
 * database. The envelope parser, then the parser of the sealer it names;
 * and, so that each is reached directly, every sealer's payload parser on
 * the raw input. Parsing only: no TPM, no /dev/sev-guest, no files.
 *
 * Nothing may crash or read out of bounds, and what a parser accepts
 * must keep its stated invariants (positions inside the input, lengths
 * in range).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../store/seal_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_inside(const uint8_t *data, size_t size, const uint8_t *p, size_t n)
{
	if (p < data || n > size || p + n > data + size)
		abort();
}

static void
fuzz_payload(const char *name, const uint8_t *p, size_t n)
{
	struct seal_file_payload fp;
	struct seal_passphrase_payload pp;
	struct seal_snp_payload sp;
	struct seal_tpm2_payload tp;
	struct error err;

	if (name == NULL || strcmp(name, "file") == 0) {
		if (seal_file_payload_parse(p, n, &fp, &err) == 0) {
			fuzz_inside(p, n, fp.box, fp.box_len);
			if (fp.box_len < SEAL_BOX_MIN ||
			    fp.box_len > SEAL_BOX_MAX)
				abort();
		} else if (err.msg[0] == '\0') {
			abort();
		}
	}
	if (name == NULL || strcmp(name, "passphrase") == 0) {
		if (seal_passphrase_payload_parse(p, n, &pp, &err) == 0) {
			fuzz_inside(p, n, pp.box, pp.box_len);
			fuzz_inside(p, n, pp.salt, SEAL_PASSPHRASE_SALT_LEN);
			if (pp.opslimit > SEAL_PASSPHRASE_OPS_MAX ||
			    pp.memlimit_kib > SEAL_PASSPHRASE_MEM_KIB_MAX)
				abort();
		}
	}
	if (name == NULL || strcmp(name, "snp") == 0) {
		if (seal_snp_payload_parse(p, n, &sp, &err) == 0) {
			fuzz_inside(p, n, sp.box, sp.box_len);
			fuzz_inside(p, n, sp.hdr, sp.hdr_len);
			if ((sp.params.field_select & SEAL_SNP_FIELD_REQUIRED) !=
			    SEAL_SNP_FIELD_REQUIRED || sp.params.vmpl > 3)
				abort();
		}
	}
	if (name == NULL || strcmp(name, "tpm2") == 0) {
		if (seal_tpm2_payload_parse(p, n, &tp, &err) == 0) {
			fuzz_inside(p, n, tp.pub, tp.pub_len);
			fuzz_inside(p, n, tp.priv, tp.priv_len);
			if (tp.pcrs.n > 0)
				fuzz_inside(p, n, tp.pcr_values,
				    tp.pcrs.n * tp.digest_len);
			if (tp.pcrs.n > SEAL_TPM2_PCR_COUNT)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[SEAL_NAME_MAX + 1];
	const uint8_t *payload;
	size_t plen;
	struct error err;

	if (seal_blob_parse(data, size, name, &payload, &plen, &err) == 0) {
		fuzz_inside(data, size, payload, plen);
		if (strlen(name) == 0 || strlen(name) > SEAL_NAME_MAX)
			abort();
		fuzz_payload(name, payload, plen);
	} else if (err.msg[0] == '\0' || name[0] != '\0') {
		abort();
	}
	fuzz_payload(NULL, data, size);
	return 0;
}

/*
 * verifier.h: evidence -> claims, one file per TEE behind one table.
 * Claim names and layout follow Trustee's verifiers so that policies and
 * tokens read the same.
 */
#ifndef TRUSTEE_VERIFIER_H
#define TRUSTEE_VERIFIER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "../lib/util.h"

struct verifier_input {
	const json_t *evidence;			/* primary evidence JSON */
	const uint8_t *report_data;		/* expected, or NULL */
	size_t report_data_len;
	const uint8_t *init_data_hash;		/* expected, or NULL */
	size_t init_data_hash_len;
	int64_t now;				/* verify as of this time */
};

struct verifier_backend {
	const char *tee;			/* kbs-types serde name */
	const char *tee_class;			/* "cpu", "gpu", ... */
	/* Verify; on success *claims is a new object of raw verifier claims
	 * (report_data / init_data included, as Trustee's verifiers emit
	 * them). On failure -1 with a precise reason in err. */
	int (*verify)(const struct verifier_input *in, json_t **claims,
	    struct error *err);
};

/* The backend for a TEE name, or NULL when this build has none. */
const struct verifier_backend *verifier_lookup(const char *tee);
/* 1 if tee is a name kbs-types knows (whether or not we can verify it). */
int verifier_tee_known(const char *tee);

/* sample.c */
extern const struct verifier_backend verifier_sample;

#endif

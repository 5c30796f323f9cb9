/*
 * tpm_internal.h: what the tpm*.c files share beyond tpm.h. Not an API.
 */
#ifndef TRUSTEE_TPM_INTERNAL_H
#define TRUSTEE_TPM_INTERNAL_H

/* The first queued OpenSSL error as text (thread-local buffer, valid
 * until the next call), or "no OpenSSL detail"; clears the queue. */
const char *tpm_quote_ossl_err(void);

#endif

/*
 * admintoken.h: the admin Bearer JWT, as Trustee's setup and kbs-client
 * make it: header {"alg":"EdDSA"|"ES256"|...,"typ":"JWT"}, payload
 * {"iss":"trusteectl","sub":"admin","role":<role>,"iat":now,"exp":now+ttl}.
 */
#ifndef TRUSTEE_ADMINTOKEN_H
#define TRUSTEE_ADMINTOKEN_H

#include "util.h"

/* Sign with the PEM private key in keyfile (Ed25519, P-256, P-384 or RSA;
 * the file must be 0600/0400). Returns a malloc'd JWT. */
char *admintoken_make(const char *keyfile, const char *role, int ttl_s,
    struct error *err);

/* Create an Ed25519 key pair: private PKCS#8 PEM at path (0600, refuses
 * to overwrite), public SPKI PEM at path + ".pub" (unless pubpath given). */
int admintoken_keygen(const char *path, const char *pubpath,
    struct error *err);

#endif

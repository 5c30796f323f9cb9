/*
 * benchres.h: the synthetic resources of the scale benchmark, shared by
 * fillbench (which writes them into a store) and kbsbench --resources
 * (which fetches random ones and checks every plaintext).
 *
 * Resource i is named "bench-scale/r/<i>" and its value is the 32-byte
 * BLAKE2b of its name: anyone can recompute it, so nothing has to be kept
 * between loading and fetching. Not secret: a benchmark fixture.
 */
#ifndef TRUSTEE_BENCHRES_H
#define TRUSTEE_BENCHRES_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define BENCHRES_REPO	"bench-scale"
#define BENCHRES_PREFIX	BENCHRES_REPO "/r/"
#define BENCHRES_VALUE_LEN	32
#define BENCHRES_NAME_MAX	64

static inline void
benchres_name(uint64_t i, char name[BENCHRES_NAME_MAX])
{
	snprintf(name, BENCHRES_NAME_MAX, BENCHRES_PREFIX "%" PRIu64, i);
}

static inline void
benchres_value(const char *name, uint8_t value[BENCHRES_VALUE_LEN])
{
	crypto_generichash(value, BENCHRES_VALUE_LEN, (const uint8_t *)name,
	    strlen(name), NULL, 0);
}

#endif

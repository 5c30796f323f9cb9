/*
 * azurefix.h: shared pieces of the Azure vTPM verifier unit tests
 * (test_azure_*.c): the real vector's directory AZ_TDX_DIR (an Azure TDX
 * CVM's HCL report, vTPM quote and TD quote, read at run time from
 * $TRUSTEE_TESTVECTORS or tests/vectors), the offset of a v4 TD quote's
 * REPORTDATA, a check that an error contains a substring, and a
 * little-endian store. Header-only; include after <cmocka.h>.
 */
#ifndef TRUSTEE_AZUREFIX_H
#define TRUSTEE_AZUREFIX_H

#include <string.h>

#include "../../lib/util.h"

#define AZ_TDX_DIR	"tdx-v4-azure-nocollateral"
/* TD quote v4: REPORTDATA at 48 + 520. */
#define QUOTE_V4_REPORT_DATA_OFF 568

static inline void
azurefix_assert_err_has(const struct error *err, const char *needle)
{
	if (strstr(err->msg, needle) == NULL) {
		print_error("error \"%s\" does not contain \"%s\"\n", err->msg,
		    needle);
		fail();
	}
}

static inline void
azurefix_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif

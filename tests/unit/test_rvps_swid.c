/*
 * test_rvps_swid.c: the swid extractor (TCG RIM SWID tags, crafted here
 * as XML text): the values it names, through the envelope into the
 * store, and every refusal, with no DTD ever loaded and nothing printed
 * by libxml2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/b64.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "rvpsfix.h"

static int
setup(void **state)
{
	return rvpsfix_setup(state, "test_rvps_swid");
}

#define SWID_HEAD \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/" \
	"2015/schema.xsd\"\n" \
	"    xmlns:rim=\"https://trustedcomputinggroup.org/resource/" \
	"tcg-reference-integrity-manifest-rim-information-model/\"\n" \
	"    xmlns:SHA384=\"http://www.w3.org/2001/04/xmlenc#sha384\"\n" \
	"    name=\"GPU\" tagId=\"t-1\" version=\"1.0\">\n" \
	"  <Entity name=\"ACME Corp\" role=\"softwareCreator tagCreator\"/>\n"

#define SWID_META \
	"  <Meta edition=\"GPU-X\" product=\"P\" " \
	"rim:PlatformManufacturerStr=\"ACME Corp\" rim:PlatformModel=\"M\"/>\n"

#define Z48 "000000000000000000000000000000000000000000000000"

#define Z96 Z48 Z48

#define H1 "b558fdac9af53b91ff3bdb06ff589859d6fbc1050d875c88" \
	"32934724ff7b3d11ac53688ba56db03cf8751913107e0dbe"

#define H2 "92B271965EB7789567D26DE1F249EA0967ED89BF42EF3683" \
	"7483FD90EDB839F5F7E4F1EB48881C3B7F6B54B7C0392C5B"

static const char swid_good[] = SWID_HEAD SWID_META
	"  <Payload>\n"
	"    <Resource type=\"Measurement\" index=\"0\" SHA384:Hash0=\"" Z96
	"\" name=\"m0\" size=\"48\"/>\n"
	"    <Resource type=\"Measurement\" index=\"1\" SHA384:Hash0=\"" H1
	"\"/>\n"
	"    <Resource type=\"Measurement\" index=\"12\" SHA384:Hash0=\"" Z96
	"\" SHA384:Hash1=\"" H1 "\" SHA384:Hash2=\"" H2 "\"/>\n"
	"    <Resource type=\"Measurement\" index=\"13\" SHA384:Hash1=\"" H1
	"\"/>\n"
	"    <Resource type=\"Other\" index=\"14\" SHA384:Hash0=\"" H1 "\"/>\n"
	"    <Resource type=\"Measurement\" index=\"15\" Hash0=\"" H1 "\"/>\n"
	"    <Group><Resource type=\"Measurement\" index=\"x-y\" "
	"SHA384:Hash0=\"&#x61;bc\"/></Group>\n"
	"  </Payload>\n"
	"</SoftwareIdentity>\n";

static json_t *
swid_ok(const char *xml)
{
	struct error err = { "" };
	json_t *out = NULL;

	if (rvps_extract_swid((const uint8_t *)xml, strlen(xml), &out,
	    &err) != 0)
		fail_msg("swid: %s", err.msg);
	return out;
}

/* Extraction fails with want in the message, and libxml2 prints
 * nothing. */
static void
swid_fails_n(const char *xml, size_t len, const char *want)
{
	struct error err = { "" };
	json_t *out = (json_t *)"x";
	char path[] = "/tmp/test_rvps_stderr.XXXXXX";
	int fd, saved;
	struct stat sb;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	assert_int_equal(rvps_extract_swid((const uint8_t *)xml, len, &out,
	    &err), -1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &sb), 0);
	close(fd);
	unlink(path);
	assert_null(out);
	rvpsfix_assert_msg(&err, want);
	if (sb.st_size != 0)
		fail_msg("libxml2 wrote %lld bytes to stderr",
		    (long long)sb.st_size);
}

static void
swid_fails(const char *xml, const char *want)
{
	swid_fails_n(xml, strlen(xml), want);
}

static void
test_swid(void **state)
{
	int64_t now = now_unix();
	json_t *out, *names;

	(void)state;
	out = swid_ok(swid_good);
	rvpsfix_assert_json(out, "{"
	    "\"ACME_Corp.GPU_X.measurement_1\": [\"" H1 "\"],"
	    "\"ACME_Corp.GPU_X.measurement_12\": [\"" H1 "\", \"" H2 "\"],"
	    "\"ACME_Corp.GPU_X.measurement_x_y\": [\"abc\"]}");
	json_decref(out);

	/* through the envelope into the store */
	names = rvpsfix_register_ok("swid", swid_good, strlen(swid_good));
	assert_int_equal(json_array_size(names), 3);
	json_decref(names);
	rvpsfix_assert_query("ACME_Corp.GPU_X.measurement_12", now,
	    "[\"" H1 "\", \"" H2 "\"]");

	/* prefixed SWID elements, and the Meta after the Payload */
	out = swid_ok("<s:SoftwareIdentity xmlns:s=\"http://standards.iso.org/"
	    "iso/19770/-2/2015/schema.xsd\" xmlns:r=\"https://"
	    "trustedcomputinggroup.org/resource/tcg-reference-integrity-"
	    "manifest-rim-information-model/\" xmlns:h=\"http://www.w3.org/"
	    "2001/04/xmlenc#sha384\"><s:Payload><s:Resource type=\"Measurement"
	    "\" index=\"3\" h:Hash0=\"01\"/></s:Payload><s:Meta edition=\"E\" "
	    "r:PlatformManufacturerStr=\"V. Inc\"/></s:SoftwareIdentity>");
	rvpsfix_assert_json(out, "{\"V._Inc.E.measurement_3\": [\"01\"]}");
	json_decref(out);

	/* nothing but zeros: no values, which the envelope refuses */
	out = swid_ok(SWID_HEAD SWID_META "<Payload><Resource type=\"Measure"
	    "ment\" index=\"0\" SHA384:Hash0=\"000\"/></Payload>"
	    "</SoftwareIdentity>");
	assert_int_equal(json_object_size(out), 0);
	json_decref(out);
}

static void
test_swid_errors(void **state)
{
	(void)state;
	swid_fails("", "empty");
	/* UCS-4 detected from the first bytes, then undecodable: libxml2
	 * reports that outside the parser context */
	swid_fails_n("\0\0\0<\0HHH", 8, "not acceptable XML");
	swid_fails("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>",
	    "not acceptable XML");
	swid_fails("<?xml version=\"1.0\" encoding=\"no-such-enc\"?><a/>",
	    "not acceptable XML");
	swid_fails("<a>\xff\xfe</a>", "not acceptable XML");
	swid_fails(SWID_HEAD SWID_META "<Payload>", "line ");
	swid_fails("<a><b></a>", "line 1");
	swid_fails("not xml at all", "not acceptable XML");
	swid_fails("<a>&undefined;</a>", "not acceptable XML");
	/* no DTD at all: entity bombs and external entities never load */
	swid_fails("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    "<!ENTITY lol \"lol\">\n"
	    "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    "]>\n<lolz a=\"&lol3;\">&lol3;</lolz>", "line 2: a document type "
	    "declaration (<!DOCTYPE>) is not allowed");
	swid_fails("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<r>&x;</r>", "not allowed");
	swid_fails("<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><r/>",
	    "not allowed");
	swid_fails(SWID_HEAD "<Payload/></SoftwareIdentity>", "no <Meta>");
	swid_fails("<Meta edition=\"E\"/>", "no <Meta> element in namespace");
	swid_fails(SWID_HEAD "<Meta edition=\"E\"/><Payload/>"
	    "</SoftwareIdentity>", "no PlatformManufacturerStr");
	swid_fails(SWID_HEAD "<Meta edition=\"E\" PlatformManufacturerStr="
	    "\"X\"/><Payload/></SoftwareIdentity>",
	    "no PlatformManufacturerStr");
	swid_fails(SWID_HEAD "<Meta rim:PlatformManufacturerStr=\"X\"/>"
	    "<Payload/></SoftwareIdentity>", "no edition");
	swid_fails(SWID_HEAD SWID_META "</SoftwareIdentity>", "no <Payload>");
	swid_fails(SWID_HEAD SWID_META "<Payload><Resource type=\"Measurement"
	    "\" SHA384:Hash0=\"01\"/></Payload></SoftwareIdentity>",
	    "has no index");
	swid_fails(SWID_HEAD SWID_META "<Payload><Resource type=\"Measurement"
	    "\" index=\"2\" SHA384:Hash0=\"0x01\"/></Payload>"
	    "</SoftwareIdentity>", "Hash0 is not hexadecimal");
	swid_fails(SWID_HEAD SWID_META "<Payload>\n<Resource type=\"Measurement"
	    "\" index=\"2\" SHA384:Hash0=\"01\"/>\n<Resource type=\"Measurement"
	    "\" index=\"2\" SHA384:Hash0=\"02\"/></Payload></SoftwareIdentity>",
	    "appears twice");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_swid, setup,
		    rvpsfix_teardown),
		cmocka_unit_test(test_swid_errors),
	};

	log_init("test_rvps_swid", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

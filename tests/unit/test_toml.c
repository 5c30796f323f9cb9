/*
 * test_toml.c: the TOML reader against exact JSON renderings, line
 * records, and error line numbers and messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/toml.h"
#include "../../lib/util.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* Parse text (explicit length, so NUL bytes can be tested) and compare
 * the compact sorted JSON rendering. */
static void
check_len(const char *text, size_t len, const char *expect)
{
	struct toml_error err;
	json_t *doc = NULL;
	char *s;

	if (toml_parse(text, len, &doc, NULL, &err) != 0)
		fail_msg("parse failed: line %d: %s\n--- input:\n%s", err.line,
		    err.msg, text);
	s = json_dumps(doc, DUMP_FLAGS);
	assert_non_null(s);
	if (strcmp(s, expect) != 0)
		fail_msg("got      %s\nexpected %s", s, expect);
	free(s);
	json_decref(doc);
}

static void
check(const char *text, const char *expect)
{
	check_len(text, strlen(text), expect);
}

static void
check_lines(const char *text, const char *expect_doc, const char *expect_lines)
{
	struct toml_error err;
	json_t *doc = NULL, *lines = NULL;
	char *s;

	if (toml_parse(text, strlen(text), &doc, &lines, &err) != 0)
		fail_msg("parse failed: line %d: %s", err.line, err.msg);
	s = json_dumps(doc, DUMP_FLAGS);
	assert_string_equal(s, expect_doc);
	free(s);
	s = json_dumps(lines, DUMP_FLAGS);
	assert_string_equal(s, expect_lines);
	free(s);
	json_decref(doc);
	json_decref(lines);
}

static void
check_err_len(const char *text, size_t len, int line, const char *substr)
{
	struct toml_error err;
	json_t *doc = (json_t *)1, *lines = (json_t *)1;

	if (toml_parse(text, len, &doc, &lines, &err) == 0) {
		char *s = json_dumps(doc, DUMP_FLAGS);

		fail_msg("parsed but should fail: %s\n--- input:\n%s", s, text);
	}
	assert_null(doc);
	assert_null(lines);
	if (err.line != line || strstr(err.msg, substr) == NULL)
		fail_msg("got line %d '%s', expected line %d '...%s...'\n"
		    "--- input:\n%s", err.line, err.msg, line, substr, text);
}

static void
check_err(const char *text, int line, const char *substr)
{
	check_err_len(text, strlen(text), line, substr);
}

/* ------------------------------------------------------------ features */

static void
test_empty_and_comments(void **state)
{
	(void)state;
	check("", "{}");
	check("\n\n   \t\n", "{}");
	check("# only a comment", "{}");
	check("# c1\r\n  # c2\r\na = 1 # trailing\r\n# end", "{\"a\":1}");
	check("\xef\xbb\xbf" "a = 1\n", "{\"a\":1}");
	check("a = \"x\" # comment with \"quotes\" and \xc3\xa9\n",
	    "{\"a\":\"x\"}");
}

static void
test_keys(void **state)
{
	(void)state;
	check("bare_key-1 = 1\n1234 = 2\n\"quoted key\" = 3\n'lit\\key' = 4\n"
	    "\"\" = 5\n",
	    "{\"\":5,\"1234\":2,\"bare_key-1\":1,\"lit\\\\key\":4,"
	    "\"quoted key\":3}");
	check("a.b.c = 1\na . \"b\" . 'd' = 2\n",
	    "{\"a\":{\"b\":{\"c\":1,\"d\":2}}}");
	check("3.14 = 'pi'\n", "{\"3\":{\"14\":\"pi\"}}");
	check("\"a.b\" = 1\n\"\\u00e9\" = 2\n",
	    "{\"a.b\":1,\"\xc3\xa9\":2}");
	/* Dotted keys extend tables made by dotted keys in the same block. */
	check("fruit.apple.smooth = true\nfruit.orange = 2\n",
	    "{\"fruit\":{\"apple\":{\"smooth\":true},\"orange\":2}}");
}

static void
test_basic_strings(void **state)
{
	(void)state;
	check("s = \"a\\b\\t\\n\\f\\r\\\"\\\\z\"\n",
	    "{\"s\":\"a\\b\\t\\n\\f\\r\\\"\\\\z\"}");
	check("s = \"\\u00e9\\u20AC\\U0001F600\"\n",
	    "{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
	check("s = \"tab\there\"\n", "{\"s\":\"tab\\there\"}");
	check("s = \"\"\n", "{\"s\":\"\"}");
	check("s = \"\xe6\x97\xa5\xe6\x9c\xac\"\n",
	    "{\"s\":\"\xe6\x97\xa5\xe6\x9c\xac\"}");
	check("s = 'C:\\Users\\x'\nt = '<\\i\\c*\\s*>'\nu = ''\n",
	    "{\"s\":\"C:\\\\Users\\\\x\",\"t\":\"<\\\\i\\\\c*\\\\s*>\","
	    "\"u\":\"\"}");
	check("s = '\"quoted\"'\n", "{\"s\":\"\\\"quoted\\\"\"}");
}

static void
test_multiline_strings(void **state)
{
	(void)state;
	/* Newline after the opening delimiter is trimmed. */
	check("s = \"\"\"\nRoses\nViolets\"\"\"\n",
	    "{\"s\":\"Roses\\nViolets\"}");
	check("s = \"\"\"one line\"\"\"\n", "{\"s\":\"one line\"}");
	/* Line-ending backslash trims whitespace and newlines. */
	check("s = \"\"\"\nThe quick \\\n\n   brown \\   \n  fox.\\\n\"\"\"\n",
	    "{\"s\":\"The quick brown fox.\"}");
	/* CRLF accepted and normalised. */
	check("s = \"\"\"\r\na\r\nb\r\n\"\"\"\r\n", "{\"s\":\"a\\nb\\n\"}");
	check("s = \"\"\"a \\\r\n   b\"\"\"", "{\"s\":\"a b\"}");
	/* Up to two quotes next to the closing delimiter. */
	check("s = \"\"\"Here are two quotation marks: \"\". Simple.\"\"\"\n",
	    "{\"s\":\"Here are two quotation marks: \\\"\\\". Simple.\"}");
	check("s = \"\"\"\"\"\"\"\"\n", "{\"s\":\"\\\"\\\"\"}");
	check("s = \"\"\"x\\ty\\u00e9\"\"\"\n", "{\"s\":\"x\\ty\xc3\xa9\"}");
	check("s = '''\nThe first newline is\ntrimmed in raw strings.\n"
	    "   All other whitespace\n   is preserved. \\n\n'''\n",
	    "{\"s\":\"The first newline is\\ntrimmed in raw strings.\\n"
	    "   All other whitespace\\n   is preserved. \\\\n\\n\"}");
	check("s = '''I [dw]on't need \\d{2} apples'''\n",
	    "{\"s\":\"I [dw]on't need \\\\d{2} apples\"}");
	check("s = ''''That,' she said, 'is still pointless.'''''\n",
	    "{\"s\":\"'That,' she said, 'is still pointless.''\"}");
	check("s = '''\ttab'''\n", "{\"s\":\"\\ttab\"}");
}

static void
test_integers(void **state)
{
	(void)state;
	check("a = +99\nb = 42\nc = 0\nd = -17\ne = +0\nf = -0\n",
	    "{\"a\":99,\"b\":42,\"c\":0,\"d\":-17,\"e\":0,\"f\":0}");
	check("a = 1_000\nb = 5_349_221\nc = 1_2_3_4_5\n",
	    "{\"a\":1000,\"b\":5349221,\"c\":12345}");
	check("a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o01234567\nd = 0o755\n"
	    "e = 0b11010110\nf = 0x00\n",
	    "{\"a\":3735928559,\"b\":3735928559,\"c\":342391,\"d\":493,"
	    "\"e\":214,\"f\":0}");
	check("max = 9223372036854775807\nmin = -9223372036854775808\n"
	    "hex = 0x7fffffffffffffff\n",
	    "{\"hex\":9223372036854775807,\"max\":9223372036854775807,"
	    "\"min\":-9223372036854775808}");
}

static void
test_floats(void **state)
{
	struct toml_error err;
	json_t *doc;
	static const struct {
		const char *text;
		double v;
	} cases[] = {
		{ "+1.0", 1.0 }, { "3.1415", 3.1415 }, { "-0.01", -0.01 },
		{ "5e+22", 5e+22 }, { "1e06", 1e06 }, { "-2E-2", -2E-2 },
		{ "6.626e-34", 6.626e-34 }, { "224_617.445_991", 224617.445991 },
		{ "0.0", 0.0 }, { "-0.0", -0.0 }, { "1e-400", 0.0 },
		{ "1_0e1_0", 10e10 },
	};
	char text[64];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "f = %s\n", cases[i].text);
		assert_int_equal(toml_parse(text, strlen(text), &doc, NULL,
		    &err), 0);
		assert_true(json_is_real(json_object_get(doc, "f")));
		if (json_real_value(json_object_get(doc, "f")) != cases[i].v)
			fail_msg("%s -> %.17g", cases[i].text,
			    json_real_value(json_object_get(doc, "f")));
		json_decref(doc);
	}
	check("a = 0.5\nb = -0.25\nc = 1e3\n",
	    "{\"a\":0.5,\"b\":-0.25,\"c\":1000.0}");
}

static void
test_booleans_and_arrays(void **state)
{
	(void)state;
	check("t = true\nf = false\n", "{\"f\":false,\"t\":true}");
	check("a = [ 1, 2, 3 ]\nb = [ \"red\", 'yellow', \"\"\"green\"\"\" ]\n"
	    "c = [ [ 1, 2 ], [3, 4, 5] ]\nd = [ [ 1, 2 ], [\"a\", 'b'] ]\n"
	    "e = []\nf = [ 0.5, 1, \"x\", true, { k = 1 } ]\n",
	    "{\"a\":[1,2,3],\"b\":[\"red\",\"yellow\",\"green\"],"
	    "\"c\":[[1,2],[3,4,5]],\"d\":[[1,2],[\"a\",\"b\"]],\"e\":[],"
	    "\"f\":[0.5,1,\"x\",true,{\"k\":1}]}");
	check("a = [\n  1, # one\n  2,\n\n  # nothing\n  3,\n]\n",
	    "{\"a\":[1,2,3]}");
	check("a = [\r\n1,\r\n2\r\n]\r\n", "{\"a\":[1,2]}");
	check("a = [[[[]]]]\n", "{\"a\":[[[[]]]]}");
}

static void
test_inline_tables(void **state)
{
	(void)state;
	check("name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
	    "point = { x = 1, y = 2 }\nanimal = { type.name = \"pug\" }\n"
	    "e = {}\nn = { a = { b = [ { c = 1 } ] } }\n",
	    "{\"animal\":{\"type\":{\"name\":\"pug\"}},\"e\":{},"
	    "\"n\":{\"a\":{\"b\":[{\"c\":1}]}},"
	    "\"name\":{\"first\":\"Tom\",\"last\":\"Preston-Werner\"},"
	    "\"point\":{\"x\":1,\"y\":2}}");
	check("t = { a.b = 1, a.c = 2 }\n", "{\"t\":{\"a\":{\"b\":1,\"c\":2}}}");
}

static void
test_tables(void **state)
{
	(void)state;
	check("[table-1]\nkey1 = \"some string\"\nkey2 = 123\n\n"
	    "[table-2]\nkey1 = \"another string\"\nkey2 = 456\n",
	    "{\"table-1\":{\"key1\":\"some string\",\"key2\":123},"
	    "\"table-2\":{\"key1\":\"another string\",\"key2\":456}}");
	check("[dog.\"tater.man\"]\ntype.name = \"pug\"\n",
	    "{\"dog\":{\"tater.man\":{\"type\":{\"name\":\"pug\"}}}}");
	check("[a.b.c]\n[ d.e.f ]\n[ g .  h  . i ]\n[ j . \"k\" . 'l' ]\n",
	    "{\"a\":{\"b\":{\"c\":{}}},\"d\":{\"e\":{\"f\":{}}},"
	    "\"g\":{\"h\":{\"i\":{}}},\"j\":{\"k\":{\"l\":{}}}}");
	/* A super-table may be defined after its children. */
	check("[x.y.z.w]\na = 1\n[x]\nb = 2\n",
	    "{\"x\":{\"b\":2,\"y\":{\"z\":{\"w\":{\"a\":1}}}}}");
	/* Sub-tables inside tables made by dotted keys. */
	check("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
	    "[fruit.apple.texture]\nsmooth = true\n",
	    "{\"fruit\":{\"apple\":{\"color\":\"red\",\"taste\":"
	    "{\"sweet\":true},\"texture\":{\"smooth\":true}}}}");
	check("top = 1\n[a]\n[b]\n", "{\"a\":{},\"b\":{},\"top\":1}");
	/* Dotted keys may extend a table only implied by a header. */
	check("[a.b.c]\n[a]\nb.d = 1\nb.e = 2\n[a.b.f]\n",
	    "{\"a\":{\"b\":{\"c\":{},\"d\":1,\"e\":2,\"f\":{}}}}");
}

static void
test_array_of_tables(void **state)
{
	(void)state;
	check("[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n"
	    "[[products]]  # empty\n\n[[products]]\nname = \"Nail\"\n"
	    "color = \"gray\"\n",
	    "{\"products\":[{\"name\":\"Hammer\",\"sku\":738594937},{},"
	    "{\"color\":\"gray\",\"name\":\"Nail\"}]}");
	check("[[fruits]]\nname = \"apple\"\n[fruits.physical]\n"
	    "color = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n"
	    "[[fruits.varieties]]\nname = \"granny smith\"\n\n[[fruits]]\n"
	    "name = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
	    "{\"fruits\":[{\"name\":\"apple\",\"physical\":{\"color\":\"red\"},"
	    "\"varieties\":[{\"name\":\"red delicious\"},"
	    "{\"name\":\"granny smith\"}]},{\"name\":\"banana\","
	    "\"varieties\":[{\"name\":\"plantain\"}]}]}");
	check("[[ a ]]\nb.c = 1\n[[a]]\nb.c = 2\n",
	    "{\"a\":[{\"b\":{\"c\":1}},{\"b\":{\"c\":2}}]}");
}

static const char initdata_example[] =
    "version = \"0.1.0\"\n"
    "algorithm = \"sha384\"\n"
    "[data]\n"
    "\"aa.toml\" = '''\n"
    "[token_configs]\n"
    "[token_configs.kbs]\n"
    "url = \"http://1.2.3.4:8080\"\n"
    "'''\n"
    "\"policy.rego\" = '''\n"
    "package agent_policy\n"
    "policy_data := {\n"
    "  \"containers\": [{\"OCI\": {\"Annotations\": "
    "{\"io.kubernetes.cri.image-name\": \"nginx\"}}}]\n"
    "}\n"
    "'''\n";

static void
test_initdata_document(void **state)
{
	(void)state;
	check_lines(initdata_example,
	    "{\"algorithm\":\"sha384\",\"data\":{\"aa.toml\":\"[token_configs]"
	    "\\n[token_configs.kbs]\\nurl = \\\"http://1.2.3.4:8080\\\"\\n\","
	    "\"policy.rego\":\"package agent_policy\\npolicy_data := {\\n  "
	    "\\\"containers\\\": [{\\\"OCI\\\": {\\\"Annotations\\\": "
	    "{\\\"io.kubernetes.cri.image-name\\\": \\\"nginx\\\"}}}]\\n}\\n\"},"
	    "\"version\":\"0.1.0\"}",
	    "{\"algorithm\":2,\"data\":{\"aa.toml\":4,\"policy.rego\":9},"
	    "\"version\":1}");
}

static void
test_lines(void **state)
{
	(void)state;
	check_lines(
	    "a = 1\n"				/* 1 */
	    "s = '''\n"				/* 2 */
	    "x\n"				/* 3 */
	    "'''\n"				/* 4 */
	    "# comment\n"			/* 5 */
	    "[t]\n"				/* 6 */
	    "b.c = 2\n"				/* 7 */
	    "arr = [\n"				/* 8 */
	    "  1,\n"				/* 9 */
	    "]\n"				/* 10 */
	    "it = { k = 1, m.n = \"\"\"\n"	/* 11 */
	    "v\"\"\", z = 3 }\n"		/* 12 */
	    "[[aot]]\n"				/* 13 */
	    "x = 1\n"				/* 14 */
	    "[[aot]]\r\n"			/* 15 */
	    "\r\n"				/* 16 */
	    "x = 2\n"				/* 17 */
	    "[empty]\n",			/* 18 */
	    "{\"a\":1,\"aot\":[{\"x\":1},{\"x\":2}],\"empty\":{},\"s\":\"x\\n\","
	    "\"t\":{\"arr\":[1],\"b\":{\"c\":2},"
	    "\"it\":{\"k\":1,\"m\":{\"n\":\"v\"},\"z\":3}}}",
	    "{\"a\":1,\"aot\":[{\"x\":14},{\"x\":17}],\"empty\":{},\"s\":2,"
	    "\"t\":{\"arr\":[9],\"b\":{\"c\":7},"
	    "\"it\":{\"k\":11,\"m\":{\"n\":11},\"z\":12}}}");
}

/* Arrays record one line record per element; empty arrays and empty
 * inline tables record their own line. */
static void
test_lines_arrays(void **state)
{
	(void)state;
	check_lines(
	    "acls = [\n"				/* 1 */
	    "  { role = \"a\", re = 1 },\n"		/* 2 */
	    "  # comment\n"				/* 3 */
	    "\n"					/* 4 */
	    "  { role = \"b\" }, {},\n"		/* 5 */
	    "  [ 1,\n"					/* 6 */
	    "    2, [] ], \"\"\"\n"			/* 7 */
	    "x\"\"\"\n"				/* 8 */
	    "]\n"					/* 9 */
	    "e = []\n"					/* 10 */
	    "i = {}\n"					/* 11 */
	    "s = [1, 2]\n"				/* 12 */
	    "[[t]]\n"					/* 13 */
	    "a = [ { b = [ 3 ] } ]\n",		/* 14 */
	    "{\"acls\":[{\"re\":1,\"role\":\"a\"},{\"role\":\"b\"},{},"
	    "[1,2,[]],\"x\"],\"e\":[],\"i\":{},\"s\":[1,2],"
	    "\"t\":[{\"a\":[{\"b\":[3]}]}]}",
	    "{\"acls\":[{\"re\":2,\"role\":2},{\"role\":5},5,[6,7,7],7],"
	    "\"e\":10,\"i\":11,\"s\":[12,12],"
	    "\"t\":[{\"a\":[{\"b\":[14]}]}]}");
	/* A duplicate of an array value names where it was first defined:
	 * at its first element, or at the key when it is empty. */
	check_err("a = [1]\na = 2\n", 2,
	    "duplicate key 'a' (first defined on line 1)");
	check_err("a = [\n\n [1]]\na = 2\n", 4,
	    "duplicate key 'a' (first defined on line 3)");
	check_err("a = []\na = 2\n", 2,
	    "duplicate key 'a' (first defined on line 1)");
	check_err("a = {}\na.b = 2\n", 2,
	    "duplicate key 'a': already defined as an inline table "
	    "(first defined on line 1)");
	check_err("a = [[1]]\na.b = 2\n", 2,
	    "duplicate key 'a': already defined as an array (first defined "
	    "on line 1)");
}

static void
test_depth_limit(void **state)
{
	char text[512];
	size_t i, n = 0;

	(void)state;
	/* 64 nested arrays are fine, 65 are not. */
	n = (size_t)snprintf(text, sizeof(text), "a = ");
	for (i = 0; i < 64; i++)
		text[n++] = '[';
	for (i = 0; i < 64; i++)
		text[n++] = ']';
	text[n] = '\0';
	{
		struct toml_error err;
		json_t *doc;

		assert_int_equal(toml_parse(text, n, &doc, NULL, &err), 0);
		json_decref(doc);
	}
	n = (size_t)snprintf(text, sizeof(text), "\n\na = ");
	for (i = 0; i < 65; i++)
		text[n++] = '[';
	for (i = 0; i < 65; i++)
		text[n++] = ']';
	text[n] = '\0';
	check_err(text, 3, "nesting deeper than 64");
	n = (size_t)snprintf(text, sizeof(text), "a = ");
	for (i = 0; i < 70; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "{b=");
	check_err(text, 1, "nesting deeper than 64");
	n = 0;
	text[n++] = '[';
	for (i = 0; i < 70; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "a.");
	snprintf(text + n, sizeof(text) - n, "b]\n");
	check_err(text, 1, "nesting deeper than 64");
}

/* --------------------------------------------------------------- errors */

static void
test_errors_syntax(void **state)
{
	(void)state;
	check_err("a = 1\nb 2\n", 2, "expected '=' after key");
	check_err("a = 1\nb\n", 2, "expected '=' after key");
	check_err("a = 1\n\nx = 2\nx = 3\n", 4, "duplicate key 'x'");
	check_err("a = 1\nb = \"abc\n", 2, "unterminated string");
	check_err("a = 1\nb = 'abc\n", 2, "unterminated string");
	check_err("a = 1\nb = \"\"\"abc\nxyz\n", 2, "unterminated string");
	check_err("a = 1\nb = '''abc\n", 2, "unterminated string");
	check_err("d = 1979-05-27T07:32:00Z\n", 1,
	    "date-times are not supported");
	check_err("\nd = 1979-05-27\n", 2, "date-times are not supported");
	check_err("\n\nt = 07:32:00\n", 3, "date-times are not supported");
	check_err("a = 1\ns = \"bad \\q escape\"\n", 2, "invalid escape \\q");
	check_err("s = \"\"\"\nok\n\\x\"\"\"\n", 3, "invalid escape \\x");
	check_err("a = \n", 1, "expected a value");
	check_err("a = 1 2\n", 1, "unexpected '2' after value");
	check_err("a = hello\n", 1, "invalid value 'hello' (strings must be "
	    "quoted)");
	check_err("= 1\n", 1, "expected a key");
	check_err("a. = 1\n", 1, "expected a key after '.'");
	check_err("[a\nb = 1\n", 1, "expected ']' to close the table header");
	check_err("[[a]\n", 1, "expected ']]'");
	check_err("[]\n", 1, "expected a key");
	check_err("a = [1, 2\n\n", 1, "unterminated array");
	check_err("a = [1 2]\n", 1, "expected ',' or ']' in array");
	check_err("a = [1,,2]\n", 1, "expected a value");
	check_err("a = { b = 1,\n c = 2 }\n", 1, "newline in inline table");
	check_err("a = { b = 1, }\n", 1, "trailing comma");
	check_err("a = { b = 1 c = 2 }\n", 1, "expected ',' or '}'");
	check_err("\"\"\"k\"\"\" = 1\n", 1, "multi-line string cannot be a key");
	check_err("a = \"x\" # ok\n# bad \x01 comment\n", 2,
	    "control character U+0001 in comment");
	check_err("s = \"a\x7f\"\n", 1, "control character U+007F in string");
	check_err("s = '''a\x08'''\n", 1, "control character U+0008");
}

static void
test_errors_values(void **state)
{
	(void)state;
	check_err("i = 9223372036854775808\n", 1, "out of the 64-bit range");
	check_err("i = -9223372036854775809\n", 1, "out of the 64-bit range");
	check_err("i = 0x8000000000000000\n", 1, "out of the 64-bit range");
	check_err("i = 012\n", 1, "leading zeros are not allowed");
	check_err("i = 1__2\n", 1, "invalid number '1__2'");
	check_err("i = _1\n", 1, "invalid value '_1'");
	check_err("i = 1_\n", 1, "invalid number '1_'");
	check_err("i = +0x10\n", 1, "sign is not allowed");
	check_err("i = 0X10\n", 1, "invalid number '0X10'");
	check_err("i = 0b102\n", 1, "invalid integer '0b102'");
	check_err("f = 1.\n", 1, "invalid float '1.'");
	check_err("f = .5\n", 1, "invalid value '.5'");
	check_err("f = 1.e5\n", 1, "invalid float");
	check_err("f = 1e\n", 1, "invalid float");
	check_err("f = 03.14\n", 1, "leading zeros are not allowed");
	check_err("f = 1e400\n", 1, "out of range");
	check_err("f = inf\n", 1, "inf and nan are not supported");
	check_err("f = -nan\n", 1, "inf and nan are not supported");
	check_err("b = True\n", 1, "invalid value 'True'");
	check_err("a = +", 1, "invalid value '+'");
	check_err("a = -\n", 1, "invalid value '-'");
	check_err("b = truex\n", 1, "invalid value 'truex'");
	check_err("s = \"\\uD800\"\n", 1, "surrogate code point");
	check_err("s = \"\\uDFFF\"\n", 1, "surrogate code point");
	check_err("s = \"\\U00110000\"\n", 1, "beyond U+10FFFF");
	check_err("s = \"\\u12\"\n", 1, "expected 4 hex digits");
	check_err("s = \"\\u0000\"\n", 1, "(NUL) is not supported");
	check_err("s = \"\\e\"\n", 1, "invalid escape \\e");
	check_err("s = \"\"\"a\"\"\"\"\"\"\n", 1, "too many quotes");
}

static void
test_errors_encoding(void **state)
{
	(void)state;
	check_err_len("a = 1\nb = \"x\0y\"\n", 16, 2, "NUL byte");
	check_err("a = 1\n\nb = \"\xff\"\n", 3, "invalid UTF-8");
	check_err("a = \"\xc0\xaf\"\n", 1, "invalid UTF-8");	/* overlong */
	check_err("a = \"\xed\xa0\x80\"\n", 1, "invalid UTF-8"); /* surrogate */
	check_err("a = \"\xf4\x90\x80\x80\"\n", 1, "invalid UTF-8");
	check_err("a = \"\xe2\x82\"", 1, "invalid UTF-8");	/* truncated */
	check_err("a = 1\rb = 2\n", 1, "carriage return");
	check_err("a = 1\n\r", 2, "carriage return");
}

static void
test_errors_redefinition(void **state)
{
	(void)state;
	check_err("a = 1\na.b = 2\n", 2, "duplicate key 'a'");
	check_err("a.b = 1\na.b = 2\n", 2, "duplicate key 'a.b' (first "
	    "defined on line 1)");
	check_err("[a]\nx = 1\n[a]\n", 3, "duplicate table [a]");
	check_err("[a.b]\n[a]\n[a.b]\n", 3, "duplicate table [a.b]");
	check_err("[fruit]\napple.color = 'red'\n[fruit.apple]\n", 3,
	    "already defined as a table (by dotted keys)");
	check_err("[a]\nb = 1\n[a.b]\n", 3, "already defined as a value");
	check_err("a = {}\n[a]\n", 2, "inline table");
	check_err("a = { b = 1 }\n[a.c]\n", 2, "cannot extend 'a'");
	check_err("a = { b = 1 }\na.c = 2\n", 2, "duplicate key 'a'");
	check_err("a = [1]\n[[a]]\n", 2, "cannot define [[a]]");
	check_err("[[a]]\n[a]\n", 2, "already defined as an array of tables");
	check_err("[a]\n[[a]]\n", 2, "cannot define [[a]]");
	check_err("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", 4,
	    "duplicate key 'b.c': already defined as a table");
	check_err("[a.b.c]\n[a]\nb.d = 1\n[a.b]\n", 4,
	    "duplicate table [a.b]: already defined as a table (by dotted");
	check_err("x = { a = 1, a = 2 }\n", 1, "duplicate key 'a'");
	check_err("[t]\na.b = 1\n[u]\n[t.a]\n", 4, "duplicate table [t.a]");
	check_err("[\"a\"]\n[a]\n", 2, "duplicate table [a]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_basic_strings),
		cmocka_unit_test(test_multiline_strings),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_booleans_and_arrays),
		cmocka_unit_test(test_inline_tables),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_array_of_tables),
		cmocka_unit_test(test_initdata_document),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_lines_arrays),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_errors_syntax),
		cmocka_unit_test(test_errors_values),
		cmocka_unit_test(test_errors_encoding),
		cmocka_unit_test(test_errors_redefinition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * extract_swid.c: the "swid" extractor: a TCG RIM in SWID XML (ISO/IEC
 * 19770-2) as NVIDIA ships them, to reference values, by Trustee's rules
 * (reference/attestation-service.md §5):
 *  - prefix "<PlatformManufacturerStr>.<edition>" from the first <Meta>
 *    (SWID namespace; PlatformManufacturerStr in the TCG RIM namespace,
 *    ' ' -> '_'; edition unqualified);
 *  - every <Resource type="Measurement" index="I"> under the first
 *    <Payload> gives "<prefix>.measurement_<I>" ('-' -> '_' in the whole
 *    name) = the list of its attributes Hash0, Hash1, ... (sha384
 *    namespace, consecutive from 0) that are not all zeros; a resource
 *    with no such hash is skipped.
 * No signature check (as Trustee). The XML is untrusted: libxml2 parses
 * it with no network, no DTD (a <!DOCTYPE> stops the parse), hence no
 * entities, no entity expansion, libxml2's own depth and size limits, and
 * errors captured per parse (never printed; the handlers libxml2 keeps
 * per thread are set around each parse) with their line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "rvps.h"

#define SWID_NS "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define SWID_RIM_NS "https://trustedcomputinggroup.org/resource/" \
	"tcg-reference-integrity-manifest-rim-information-model/"
#define SWID_HASH_NS "http://www.w3.org/2001/04/xmlenc#sha384"
#define SWID_HASH_MAX 256	/* HashN attributes read per resource */

/* What one parse collected through the SAX hooks. */
struct swid_parse {
	int failed;
	char msg[400];
};

static pthread_once_t swid_once = PTHREAD_ONCE_INIT;

static void
swid_init_once(void)
{
	xmlInitParser();
}

/* Keep the first error libxml2 reports for this parse, with its line. */
static void
swid_sax_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct swid_parse *p = ctxt->_private;
	size_t n;

	if (p == NULL || p->failed || e == NULL ||
	    e->level == XML_ERR_WARNING)
		return;
	p->failed = 1;
	snprintf(p->msg, sizeof(p->msg), "line %d: %s", e->line,
	    e->message ? e->message : "malformed XML");
	n = strlen(p->msg);
	while (n > 0 && (p->msg[n - 1] == '\n' || p->msg[n - 1] == ' '))
		p->msg[--n] = '\0';
}

/* Errors raised outside the parser context (encoding conversion, I/O)
 * reach libxml2's thread-local handlers: capture those too. */
static void
swid_global_error(void *ctx, xmlErrorPtr e)
{
	struct swid_parse *p = ctx;

	if (p->failed || e == NULL || e->level == XML_ERR_WARNING)
		return;
	p->failed = 1;
	snprintf(p->msg, sizeof(p->msg), "%s", e->message ? e->message :
	    "malformed XML");
	p->msg[strcspn(p->msg, "\n")] = '\0';
}

static void
swid_generic_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void
swid_sax_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
    const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct swid_parse *p = ctxt->_private;

	(void)name;
	(void)external_id;
	(void)system_id;
	if (!p->failed) {
		p->failed = 1;
		snprintf(p->msg, sizeof(p->msg), "line %d: a document type "
		    "declaration (<!DOCTYPE>) is not allowed",
		    xmlSAX2GetLineNumber(ctx));
	}
	xmlStopParser(ctxt);
}

static void
swid_sax_entity(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	swid_sax_dtd(ctx, NULL, NULL, NULL);
}

/* Parse the XML safely; the new document or NULL with the reason. */
static xmlDocPtr
swid_parse_xml(const uint8_t *payload, size_t len, struct error *err)
{
	struct swid_parse p = { 0, "" };
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;

	pthread_once(&swid_once, swid_init_once);
	ctxt = xmlCreateMemoryParserCtxt((const char *)payload, (int)len);
	if (ctxt == NULL) {
		error_set(err, "swid payload: cannot create an XML parser "
		    "(empty input?)");
		return NULL;
	}
	/* No NOENT (entity substitution), no DTDLOAD/DTDATTR/DTDVALID, no
	 * XINCLUDE, no HUGE; NONET as a second line of defence. */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	ctxt->_private = &p;
	ctxt->sax->serror = swid_sax_error;
	ctxt->sax->internalSubset = swid_sax_dtd;
	ctxt->sax->externalSubset = swid_sax_dtd;
	ctxt->sax->entityDecl = swid_sax_entity;
	ctxt->sax->resolveEntity = NULL;
	/* libxml2's error handlers are per thread: set for this parse only. */
	xmlSetStructuredErrorFunc(&p, swid_global_error);
	xmlSetGenericErrorFunc(NULL, swid_generic_quiet);
	xmlParseDocument(ctxt);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSetGenericErrorFunc(NULL, NULL);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (!p.failed && !ctxt->wellFormed) {
		p.failed = 1;
		snprintf(p.msg, sizeof(p.msg), "malformed XML");
	}
	if (!p.failed && (doc == NULL || doc->intSubset != NULL ||
	    doc->extSubset != NULL)) {
		p.failed = 1;
		snprintf(p.msg, sizeof(p.msg), "no document, or a document "
		    "type declaration");
	}
	xmlFreeParserCtxt(ctxt);
	if (p.failed) {
		xmlFreeDoc(doc);
		error_set(err, "swid payload: not acceptable XML: %s", p.msg);
		return NULL;
	}
	return doc;
}

/* Next element after n in document order within root's subtree
 * (iterative: no recursion on input). */
static xmlNodePtr
swid_next(xmlNodePtr n, xmlNodePtr root)
{
	xmlNodePtr c;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return c;
	while (n != root) {
		for (c = n->next; c != NULL; c = c->next)
			if (c->type == XML_ELEMENT_NODE)
				return c;
		n = n->parent;
	}
	return NULL;
}

static int
swid_is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    n->ns->href != NULL &&
	    xmlStrEqual(n->ns->href, BAD_CAST SWID_NS) &&
	    xmlStrEqual(n->name, BAD_CAST name);
}

/* The first element name (SWID namespace) in from's subtree, from
 * included. */
static xmlNodePtr
swid_find(xmlNodePtr from, const char *name)
{
	xmlNodePtr n;

	for (n = from; n != NULL; n = swid_next(n, from))
		if (swid_is(n, name))
			return n;
	return NULL;
}

static int
swid_all_zero(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != '0')
			return 0;
	return 1;
}

static int
swid_is_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
}

/* The hashes of one Measurement resource into a new array. */
static int
swid_hashes(xmlNodePtr res, const char *index, json_t **out,
    struct error *err)
{
	json_t *list = json_array();
	char attr[16];
	xmlChar *h;
	int i;

	for (i = 0; i < SWID_HASH_MAX; i++) {
		snprintf(attr, sizeof(attr), "Hash%d", i);
		h = xmlGetNsProp(res, BAD_CAST attr, BAD_CAST SWID_HASH_NS);
		if (h == NULL)
			break;
		if (!swid_is_hex((const char *)h)) {
			xmlFree(h);
			json_decref(list);
			return error_set(err, "swid payload: line %ld: "
			    "Resource index=\"%.32s\": %s is not hexadecimal",
			    xmlGetLineNo(res), index, attr);
		}
		if (!swid_all_zero((const char *)h))
			json_array_append_new(list,
			    json_string((const char *)h));
		xmlFree(h);
	}
	*out = list;
	return 0;
}

static int
swid_extract_doc(xmlDocPtr doc, json_t *out, struct error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), meta, payload, n;
	xmlChar *manu = NULL, *edition = NULL, *type, *index;
	char *prefix = NULL, *name, *c;
	json_t *list = NULL;
	int rc = -1;

	if (root == NULL)
		return error_set(err, "swid payload: the XML has no root "
		    "element");
	meta = swid_find(root, "Meta");
	if (meta == NULL)
		return error_set(err, "swid payload: no <Meta> element in "
		    "namespace " SWID_NS);
	manu = xmlGetNsProp(meta, BAD_CAST "PlatformManufacturerStr",
	    BAD_CAST SWID_RIM_NS);
	edition = xmlGetNoNsProp(meta, BAD_CAST "edition");
	if (manu == NULL) {
		error_set(err, "swid payload: line %ld: <Meta> has no "
		    "PlatformManufacturerStr attribute in namespace "
		    SWID_RIM_NS, xmlGetLineNo(meta));
		goto out;
	}
	if (edition == NULL) {
		error_set(err, "swid payload: line %ld: <Meta> has no edition "
		    "attribute", xmlGetLineNo(meta));
		goto out;
	}
	for (c = (char *)manu; *c != '\0'; c++)
		if (*c == ' ')
			*c = '_';
	prefix = xasprintf("%s.%s", (const char *)manu,
	    (const char *)edition);
	payload = swid_find(root, "Payload");
	if (payload == NULL) {
		error_set(err, "swid payload: no <Payload> element in "
		    "namespace " SWID_NS);
		goto out;
	}
	for (n = payload; n != NULL; n = swid_next(n, payload)) {
		if (!swid_is(n, "Resource"))
			continue;
		type = xmlGetNoNsProp(n, BAD_CAST "type");
		if (type == NULL ||
		    !xmlStrEqual(type, BAD_CAST "Measurement")) {
			xmlFree(type);
			continue;
		}
		xmlFree(type);
		index = xmlGetNoNsProp(n, BAD_CAST "index");
		if (index == NULL) {
			error_set(err, "swid payload: line %ld: a Measurement "
			    "<Resource> has no index attribute",
			    xmlGetLineNo(n));
			goto out;
		}
		if (swid_hashes(n, (const char *)index, &list, err) == -1) {
			xmlFree(index);
			goto out;
		}
		name = xasprintf("%s.measurement_%s", prefix,
		    (const char *)index);
		xmlFree(index);
		for (c = name; *c != '\0'; c++)
			if (*c == '-')
				*c = '_';
		if (json_array_size(list) == 0)
			json_decref(list);
		else if (json_object_get(out, name) != NULL) {
			error_set(err, "swid payload: line %ld: measurement "
			    "'%.200s' appears twice", xmlGetLineNo(n), name);
			json_decref(list);
			free(name);
			goto out;
		} else if (json_object_set_new(out, name, list) == -1) {
			error_set(err, "swid payload: line %ld: the name "
			    "'%.200s' is not valid UTF-8", xmlGetLineNo(n),
			    name);
			free(name);
			goto out;
		}
		free(name);
	}
	rc = 0;
out:
	xmlFree(manu);
	xmlFree(edition);
	free(prefix);
	return rc;
}

int
rvps_extract_swid(const uint8_t *payload, size_t len, json_t **out,
    struct error *err)
{
	xmlDocPtr doc;
	json_t *obj;

	*out = NULL;
	if (len == 0)
		return error_set(err, "swid payload: empty");
	if (len > RVPS_PAYLOAD_MAX)
		return error_set(err, "swid payload: %zu bytes, more than the "
		    "limit of %d", len, RVPS_PAYLOAD_MAX);
	doc = swid_parse_xml(payload, len, err);
	if (doc == NULL)
		return -1;
	obj = json_object();
	if (swid_extract_doc(doc, obj, err) == -1) {
		json_decref(obj);
		xmlFreeDoc(doc);
		return -1;
	}
	xmlFreeDoc(doc);
	*out = obj;
	return 0;
}

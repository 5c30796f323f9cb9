/*
 * nvidia_evidence.c: the NVIDIA evidence's outer form (nvidia.h):
 * device_evidence_list checked for shape only (no decoding, no crypto;
 * the devices point into the evidence JSON), and a report's hex or
 * standard base64 text decoded to bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/b64.h"
#include "nvidia.h"

static int
nvidia_arch(const char *s, struct nvidia_device *d)
{
	if (strcasecmp(s, "hopper") == 0) {
		d->arch = NVIDIA_HOPPER;
		d->arch_name = "Hopper";
		d->tee_class = "gpu";
	} else if (strcasecmp(s, "blackwell") == 0) {
		d->arch = NVIDIA_BLACKWELL;
		d->arch_name = "Blackwell";
		d->tee_class = "gpu";
	} else if (strcasecmp(s, "ls10") == 0) {
		d->arch = NVIDIA_LS10;
		d->arch_name = "LS10";
		d->tee_class = "switch";
	} else {
		return -1;
	}
	return 0;
}

static int
nvidia_string(const json_t *dev, const char *key, size_t max,
    const char **s, size_t *len, struct error *err)
{
	const json_t *v = json_object_get(dev, key);

	if (v == NULL)
		return error_set(err, "missing field `%s`", key);
	if (!json_is_string(v))
		return error_set(err, "field `%s` must be a string", key);
	if (json_string_length(v) > max)
		return error_set(err, "field `%s` is longer than %zu "
		    "characters", key, max);
	*s = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return 0;
}

int
nvidia_parse_evidence(const json_t *ev, struct nvidia_device *out,
    size_t cap, size_t *n, struct error *err)
{
	const json_t *list, *dev, *uuid;
	const char *arch;
	size_t i;

	*n = 0;
	if (!json_is_object(ev))
		return error_set(err, "NVIDIA evidence is not a JSON object");
	list = json_object_get(ev, "device_evidence_list");
	if (!json_is_array(list))
		return error_set(err, "NVIDIA evidence: `device_evidence_list` "
		    "must be an array");
	if (json_array_size(list) == 0 || json_array_size(list) > cap)
		return error_set(err, "NVIDIA evidence: `device_evidence_list` "
		    "must hold 1 to %zu devices, not %zu", cap,
		    json_array_size(list));
	json_array_foreach(list, i, dev) {
		struct nvidia_device *d = &out[i];

		memset(d, 0, sizeof(*d));
		if (!json_is_object(dev))
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu] is not an object", i);
		if (nvidia_string(dev, "arch", 32, &arch, NULL, err) != 0 ||
		    nvidia_string(dev, "evidence", NVIDIA_EVIDENCE_MAX,
		    &d->evidence, &d->evidence_len, err) != 0 ||
		    nvidia_string(dev, "certificate", NVIDIA_CERTS_MAX,
		    &d->certificate, &d->certificate_len, err) != 0)
			return error_prefix(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]", i);
		if (nvidia_arch(arch, d) != 0)
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]: unknown arch (expected "
			    "Hopper, Blackwell or LS10)", i);
		uuid = json_object_get(dev, "uuid");
		if (uuid != NULL && !json_is_string(uuid))
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]: field `uuid` must be a "
			    "string", i);
		if (uuid != NULL && json_string_length(uuid) > 128)
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]: field `uuid` is longer "
			    "than 128 characters", i);
		d->uuid = uuid != NULL ? json_string_value(uuid) : "unknown";
	}
	*n = json_array_size(list);
	return 0;
}

int
nvidia_decode_report(const char *s, size_t len, uint8_t **out,
    size_t *outlen, struct error *err)
{
	uint8_t *buf;
	size_t n = 0;

	*out = NULL;
	*outlen = 0;
	if (len == 0)
		return error_set(err, "the report is empty");
	if (len % 2 == 0 && strspn(s, "0123456789abcdefABCDEF") == len) {
		buf = xmalloc(len / 2);
		if (hex_decode(s, buf, len / 2, &n) != 0 || n != len / 2) {
			free(buf);
			return error_set(err, "the report is not valid hex");
		}
		*out = buf;
		*outlen = n;
		return 0;
	}
	if (b64_decode(s, len, B64_STD, out, outlen) != 0)
		return error_set(err, "the report is neither hex nor standard "
		    "base64");
	return 0;
}

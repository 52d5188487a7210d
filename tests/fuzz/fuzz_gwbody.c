/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the gateway's JSON bodies (gwbody_parse_create for POST /v1/domains,
 * gwbody_parse_sign for POST /v1/sign). Each input goes to both. What the create parser accepts
 * must be a safe name and in range and survive a re-encode; what the sign parser accepts must
 * become a Statement that statement_parse reads back unchanged (the service must never sign an
 * attestation that vmseal-verify would refuse to read). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "lib/gwbody.h"
#include "lib/limits.h"
#include "lib/statement.h"

static void check_create(const char *data, size_t size)
{
	struct gwbody_create c, again;
	struct vs_error err = {0};
	json_t *j;
	char *enc;

	if (gwbody_parse_create(data, size, &c, &err) < 0) {
		if (err.kind != VS_ERR_INPUT || err.reason[0] == '\0')
			abort();
		return;
	}
	if (!gwbody_name_ok(c.name) || !gwbody_name_ok(c.template_name) || c.memory_mib < 16 ||
	    c.memory_mib > (1 << 20) || c.vcpus < 1 || c.vcpus > 64)
		abort();
	j = json_pack("{s:s, s:s, s:I, s:I}", "name", c.name, "template", c.template_name,
		      "memory_mib", (json_int_t)c.memory_mib, "vcpus", (json_int_t)c.vcpus);
	enc = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!enc || gwbody_parse_create(enc, strlen(enc), &again, &err) < 0 ||
	    memcmp(&c, &again, sizeof(c)) != 0)
		abort();
	free(enc);
}

static void check_sign(const char *data, size_t size)
{
	struct statement st, back;
	struct vs_error err = {0};
	int64_t expires = -1;
	size_t len = 0;
	char *enc;

	memset(&st, 0, sizeof(st));
	if (gwbody_parse_sign(data, size, &st, &expires, &err) < 0) {
		if (err.kind != VS_ERR_INPUT || err.reason[0] == '\0')
			abort();
		return;
	}
	if (expires <= 0 || expires > GWBODY_SIGN_MAX_EXPIRES_S || strlen(st.digest) != 64 ||
	    !st.template_name[0] || !st.subject_name[0])
		abort();
	/* What the sign route does next: */
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = 1700000000;
	st.expires_at = st.signed_at + expires;
	enc = statement_encode(&st, &len);
	if (!enc)
		abort();
	if (statement_parse((const uint8_t *)enc, len, "fuzz", &back, &err) < 0 ||
	    memcmp(&st, &back, sizeof(st)) != 0)
		abort();
	free(enc);
}

/* What the hot-plug parsers accept is in the safe alphabets the routes put into paths and XML. */
static void check_disk_media(const char *data, size_t size)
{
	struct gwbody_disk d;
	struct gwbody_media m;
	struct vs_error err = {0};

	if (gwbody_parse_disk(data, size, &d, &err) == 0 &&
	    (!gwbody_name_ok(d.template_name) || !gwbody_target_ok(d.target) || (d.overlay & ~1)))
		abort();
	if (gwbody_parse_media(data, size, &m, &err) == 0 &&
	    (!gwbody_name_ok(m.template_name) || !gwbody_target_ok(m.target)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_disk_media((const char *)data, size);
	check_create((const char *)data, size);
	check_sign((const char *)data, size);
	return 0;
}

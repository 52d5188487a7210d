/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the RFC 8941 parsers. The first byte picks list, dictionary or item; what
 * parses must serialize, and the serialization must parse back to the same serialization. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/sf.h"

static char *serialize(int kind, struct sf_members *m, struct sf_item *it, size_t *len)
{
	struct sf_buf b = {0};
	int r;

	if (kind == 0)
		r = sf_serialize_list(&b, m);
	else if (kind == 1)
		r = sf_serialize_dict(&b, m);
	else
		r = sf_serialize_item(&b, it);
	if (r < 0) {
		sf_buf_free(&b);
		return NULL;
	}
	return sf_buf_take(&b, len);
}

static int parse(int kind, const char *in, size_t len, struct sf_members *m, struct sf_item *it,
		 struct vs_error *err)
{
	memset(m, 0, sizeof(*m));
	memset(it, 0, sizeof(*it));
	if (kind == 0)
		return sf_parse_list(in, len, m, err);
	if (kind == 1)
		return sf_parse_dict(in, len, m, err);
	return sf_parse_item(in, len, it, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_members m, m2;
	struct sf_item it, it2;
	struct vs_error err = {0};
	char *s1, *s2;
	size_t l1 = 0, l2 = 0;
	int kind;

	if (size < 1 || size > VS_MAX_HEADER_BYTES + 1)
		return -1;
	kind = data[0] % 3;
	if (parse(kind, (const char *)data + 1, size - 1, &m, &it, &err) < 0) {
		if (err.reason[0] == '\0')
			abort();
		return 0;
	}
	s1 = serialize(kind, &m, &it, &l1);
	if (!s1)
		abort(); /* everything the parser accepts has a serialization */
	if (parse(kind, s1, l1, &m2, &it2, &err) < 0)
		abort();
	s2 = serialize(kind, &m2, &it2, &l2);
	if (!s2 || l1 != l2 || memcmp(s1, s2, l1))
		abort();
	if (kind == 1)
		for (size_t i = 0; i < m.n; i++)
			if (sf_dict_get(&m, m.v[i].key) != &m.v[i])
				abort(); /* dictionary keys are unique */
	free(s1);
	free(s2);
	sf_members_free(&m);
	sf_members_free(&m2);
	sf_item_free(&it);
	sf_item_free(&it2);
	return 0;
}

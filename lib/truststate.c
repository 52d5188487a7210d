/* SPDX-License-Identifier: Apache-2.0 */
/* The host's trust state (/var/lib/vmseal/trust.state): strict parse, checked load, atomic save. */
#include "truststate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "jsonx.h"
#include "limits.h"
#include "util.h"

static int get_version(json_t *o, const char *field, int64_t *out, const char *object,
		       struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return vs_fail(err, VS_ERR_INPUT, object, "trust state: %s missing or not an integer >= 0",
			       field);
	*out = json_integer_value(v);
	return 0;
}

int trust_state_parse(const char *json, size_t len, const char *object, struct trust_state *out,
		      struct vs_error *err)
{
	static const char *const fields[] = {"format", "policy_version", "root_version", NULL};
	json_error_t jerr;
	json_t *root, *f;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (len > VS_MAX_TRUST_STATE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "trust state is %zu bytes, limit is %u", len,
			       VS_MAX_TRUST_STATE_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "trust state is not valid JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "trust state is not a JSON object");
		goto out;
	}
	if (json_check_fields(root, fields, "trust state", object, err) < 0)
		goto out;
	f = json_object_get(root, "format");
	if (!json_is_string(f) || strcmp(json_string_value(f), TRUST_STATE_FORMAT)) {
		vs_fail(err, VS_ERR_INPUT, object, "trust state: format is not \"%s\"", TRUST_STATE_FORMAT);
		goto out;
	}
	if (get_version(root, "policy_version", &out->policy_version, object, err) < 0 ||
	    get_version(root, "root_version", &out->root_version, object, err) < 0)
		goto out;
	r = 0;
out:
	if (r < 0)
		memset(out, 0, sizeof(*out));
	json_decref(root);
	return r;
}

int trust_state_load(const char *path, struct trust_state *out, struct vs_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return vs_fail(err, VS_ERR_IO, path, "cannot open trust state: %s", strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vs_fail(err, VS_ERR_INPUT, path, "trust state is not a regular file");
	}
	if ((st.st_mode & 022) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		close(fd);
		return vs_fail(err, VS_ERR_INPUT, path,
			       "trust state is writable by others or owned by uid %u (want root, 0644 at most): refusing it",
			       (unsigned)st.st_uid);
	}
	r = fd_read_all(fd, path, VS_MAX_TRUST_STATE_BYTES, &buf, &len, err);
	close(fd);
	if (r == 0)
		r = trust_state_parse(buf, len, path, out, err);
	free(buf);
	return r;
}

char *trust_state_encode(const struct trust_state *st)
{
	json_t *o = json_pack("{s:s, s:I, s:I}", "format", TRUST_STATE_FORMAT, "policy_version",
			      (json_int_t)st->policy_version, "root_version", (json_int_t)st->root_version);
	char *s = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

int trust_state_save(const char *path, const struct trust_state *st, struct vs_error *err)
{
	char dir[VS_PATH_TMP_MAX], *s;
	int r;

	if (vs_path_dir(path, dir, sizeof(dir)) < 0)
		return vs_fail(err, VS_ERR_INPUT, path, "path too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return vs_fail(err, VS_ERR_IO, dir, "cannot create: %s", strerror(errno));
	s = trust_state_encode(st);
	if (!s)
		return vs_fail(err, VS_ERR_INTERNAL, path, "cannot encode trust state");
	r = file_write_atomic(path, s, strlen(s), 0644, 1, err);
	free(s);
	return r;
}

void trust_state_path_for(const char *policy_path, char *out, size_t outlen)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *slash;

	if (!strcmp(policy_path, SYSTEM_POLICY_PATH) ||
	    (realpath(policy_path, a) && realpath(SYSTEM_POLICY_PATH, b) && !strcmp(a, b))) {
		snprintf(out, outlen, "%s", TRUST_STATE_SYSTEM_PATH);
		return;
	}
	slash = strrchr(policy_path, '/');
	if (!slash)
		snprintf(out, outlen, "%s", TRUST_STATE_FILE_NAME);
	else
		snprintf(out, outlen, "%.*s/%s", (int)(slash - policy_path), policy_path, TRUST_STATE_FILE_NAME);
}

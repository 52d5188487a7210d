/* SPDX-License-Identifier: Apache-2.0 */
/* Allow-cache of image decisions: only allows are stored; any doubt is a miss. */
#include "evalcache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "policyindex.h"
#include "util.h"

#define ENTRY_MAGIC "vmseal-evalcache 2"
#define ENTRY_MAC_LABEL "vmseal-evalcache"

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

void evalcache_key(const struct stat *image, const struct stat *attestation,
		   const char *policy_digest, char out[static EVALCACHE_KEY_HEX])
{
	char buf[512];
	uint8_t md[32];
	unsigned mdlen = 0;
	int n;

	/* v2: entries stored before the settle rule (evalcache_settled) are never looked up again */
	n = snprintf(buf, sizeof(buf),
		     "v2 image %ju %ju %jd %" PRId64 " %" PRId64 " att %ju %ju %jd %" PRId64 " %" PRId64
		     " policy %s",
		     (uintmax_t)image->st_dev, (uintmax_t)image->st_ino, (intmax_t)image->st_size,
		     ns(&image->st_mtim), ns(&image->st_ctim), (uintmax_t)attestation->st_dev,
		     (uintmax_t)attestation->st_ino, (intmax_t)attestation->st_size,
		     ns(&attestation->st_mtim), ns(&attestation->st_ctim), policy_digest);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    !EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
		/* Cannot happen with these sizes; an impossible key makes every lookup miss. */
		memset(out, 'x', EVALCACHE_KEY_HEX - 1);
		out[EVALCACHE_KEY_HEX - 1] = '\0';
		return;
	}
	hex_encode(md, 32, out);
}

int evalcache_settled(int fd, const struct stat *st, int64_t checked_ns)
{
	return policy_index_fs_keeps_ctime(fd) && policy_index_settled(ns(&st->st_ctim), checked_ns);
}

static int key_valid(const char *key)
{
	for (int i = 0; i < EVALCACHE_KEY_HEX - 1; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
			return 0;
	return key[EVALCACHE_KEY_HEX - 1] == '\0';
}

int evalcache_dir_check(const char *dir, struct vs_error *err)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		if (errno != ENOENT)
			return vs_fail(err, VS_ERR_IO, dir, "cannot stat cache directory: %s", strerror(errno));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return vs_fail(err, VS_ERR_IO, dir, "cannot create cache directory: %s",
				       strerror(errno));
		if (lstat(dir, &st) < 0)
			return vs_fail(err, VS_ERR_IO, dir, "cannot stat cache directory: %s", strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return vs_fail(err, VS_ERR_INPUT, dir, "cache path is not a directory");
	if (st.st_uid != geteuid())
		return vs_fail(err, VS_ERR_INPUT, dir, "cache directory is owned by uid %u, not %u",
			       (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return vs_fail(err, VS_ERR_INPUT, dir, "cache directory has mode %04o, want 0700",
			       (unsigned)(st.st_mode & 07777));
	return 0;
}

static int entry_path(const char *dir, const char *key, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, key);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Parses "NAME VALUE\n" where the line must start with name and a space. */
static const char *line_value(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncmp(line, name, n) == 0 && line[n] == ' ' ? line + n + 1 : NULL;
}

static int parse_int(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end != '\0' ? -1 : 0;
}

/* What the MAC covers: the key (so an entry copied under another image's key fails) and the
 * entry's lines before the mac line. */
static int mac_input(const char *key, const char *body, size_t bodylen, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s\n%.*s", key, (int)bodylen, body);

	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int evalcache_lookup(const char *dir, const uint8_t secret[static HOSTSECRET_BYTES],
		     const char key[static EVALCACHE_KEY_HEX], int64_t now, struct evalcache_entry *e)
{
	char path[VS_PATH_TMP_MAX], buf[VS_MAX_EVALCACHE_ENTRY_BYTES + 1];
	char mbuf[VS_MAX_EVALCACHE_ENTRY_BYTES + EVALCACHE_KEY_HEX + 2];
	char *lines[4], *save = NULL, *l, *macline, mac[HOSTSECRET_MAC_HEX];
	int mlen;
	struct stat st;
	ssize_t n;
	int fd, nl = 0;
	const char *v;

	memset(e, 0, sizeof(*e));
	if (!key_valid(key) || entry_path(dir, key, path, sizeof(path)) < 0)
		return 0;
	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &fd, &st, NULL) < 0)
		return 0;
	if (st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_size > VS_MAX_EVALCACHE_ENTRY_BYTES) {
		close(fd);
		return 0;
	}
	n = pread(fd, buf, VS_MAX_EVALCACHE_ENTRY_BYTES, 0);
	close(fd);
	if (n <= 0 || buf[n - 1] != '\n')
		return 0;
	buf[n] = '\0';
	/* The last line is "mac HEX": check it before trusting a byte of the rest. */
	buf[n - 1] = '\0';
	macline = strrchr(buf, '\n');
	if (!macline || strncmp(macline + 1, "mac ", 4) || strlen(macline + 5) != HOSTSECRET_MAC_HEX - 1)
		return 0;
	memcpy(mac, macline + 5, HOSTSECRET_MAC_HEX);
	macline[1] = '\0';
	mlen = mac_input(key, buf, (size_t)(macline + 1 - buf), mbuf, sizeof(mbuf));
	if (mlen < 0 || !hostsecret_mac_ok(secret, ENTRY_MAC_LABEL, mbuf, (size_t)mlen, mac))
		return 0;
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (nl == 4)
			return 0;
		lines[nl++] = l;
	}
	if (nl != 4 || strcmp(lines[0], ENTRY_MAGIC))
		return 0;
	v = line_value(lines[1], "template");
	if (!v || !v[0] || strlen(v) >= sizeof(e->template_name))
		return 0;
	strcpy(e->template_name, v);
	v = line_value(lines[2], "version");
	if (!v || parse_int(v, &e->template_version) < 0)
		return 0;
	v = line_value(lines[3], "valid_until");
	if (!v || parse_int(v, &e->valid_until) < 0 || e->valid_until < 0)
		return 0;
	if (e->valid_until && now >= e->valid_until)
		return 0;
	return 1;
}

int evalcache_store(const char *dir, const uint8_t secret[static HOSTSECRET_BYTES],
		    const char key[static EVALCACHE_KEY_HEX], const struct evalcache_entry *e,
		    struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX], buf[VS_MAX_EVALCACHE_ENTRY_BYTES + 1];
	char mbuf[VS_MAX_EVALCACHE_ENTRY_BYTES + EVALCACHE_KEY_HEX + 2];
	char mac[HOSTSECRET_MAC_HEX];
	int n, m;

	if (!key_valid(key) || entry_path(dir, key, path, sizeof(path)) < 0)
		return vs_fail(err, VS_ERR_INPUT, dir, "bad cache key or path");
	if (!e->template_name[0] || strpbrk(e->template_name, "\r\n"))
		return vs_fail(err, VS_ERR_INPUT, dir, "template name cannot be cached");
	n = snprintf(buf, sizeof(buf), ENTRY_MAGIC "\ntemplate %s\nversion %" PRId64
		     "\nvalid_until %" PRId64 "\n", e->template_name, e->template_version,
		     e->valid_until);
	if (n < 0 || n > VS_MAX_EVALCACHE_ENTRY_BYTES - HOSTSECRET_MAC_HEX - 5)
		return vs_fail(err, VS_ERR_INPUT, dir, "cache entry too long");
	m = mac_input(key, buf, (size_t)n, mbuf, sizeof(mbuf));
	if (m < 0)
		return vs_fail(err, VS_ERR_INPUT, dir, "cache entry too long");
	hostsecret_mac(secret, ENTRY_MAC_LABEL, mbuf, (size_t)m, mac);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "mac %s\n", mac);
	return file_write_atomic(path, buf, (size_t)n, 0600, 1, err);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Overlay registry: state_dir/overlays/DEV-INO, one MAC'd record per overlay. */
#include "overlayreg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "limits.h"
#include "util.h"

#define REG_MAGIC "vmseal-overlay 2"
#define REG_MAGIC_LEGACY "vmseal-overlay 1" /* no state line */
#define REG_MAC_LABEL "vmseal-overlay"

void overlay_state_of(const struct stat *st, struct overlay_state *out)
{
	out->size = st->st_size;
	out->mtime_ns = vs_timespec_ns(&st->st_mtim);
	out->ctime_ns = vs_timespec_ns(&st->st_ctim);
}

int overlay_state_equal(const struct overlay_state *a, const struct overlay_state *b)
{
	return a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int overlay_id_of(int fd, const char *name, struct overlay_id *id, struct vs_error *err)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &sx) < 0)
		return vs_fail(err, VS_ERR_IO, name, "statx: %s", strerror(errno));
	if (!(sx.stx_mask & STATX_BTIME))
		return vs_fail(err, VS_ERR_DENIED, name,
			       "its file system keeps no birth time, so the hook cannot tell this overlay from a later file on the same inode");
	id->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	id->ino = sx.stx_ino;
	id->birth_sec = sx.stx_btime.tv_sec;
	id->birth_nsec = sx.stx_btime.tv_nsec;
	return 0;
}

static int reg_path(const char *state_dir, const struct overlay_id *id, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/overlays/%" PRIu64 "-%" PRIu64, state_dir, id->dev, id->ino);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* The record's lines before its state line (and MAC), for magic. */
static int reg_body(const char *magic, const struct overlay_id *id, const char *domain, char *out,
		    size_t outlen)
{
	char dhex[2 * VS_MAX_NAME_BYTES + 1];
	int n;

	if (strlen(domain) >= VS_MAX_NAME_BYTES)
		return -1;
	hex_encode((const uint8_t *)domain, strlen(domain), dhex);
	n = snprintf(out, outlen, "%s\ndomain %s\ndev %" PRIu64 "\nino %" PRIu64 "\nbirth %" PRId64 ".%09u\n",
		     magic, dhex, id->dev, id->ino, id->birth_sec, id->birth_nsec);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

static int mac_line_ok(const uint8_t secret[static HOSTSECRET_BYTES], const char *buf, size_t len,
		       size_t body)
{
	char mac[HOSTSECRET_MAC_HEX];

	if (len != body + 4 + HOSTSECRET_MAC_HEX || strncmp(buf + body, "mac ", 4) || buf[len - 1] != '\n')
		return 0;
	memcpy(mac, buf + body + 4, HOSTSECRET_MAC_HEX - 1);
	mac[HOSTSECRET_MAC_HEX - 1] = '\0';
	return hostsecret_mac_ok(secret, REG_MAC_LABEL, buf, body, mac);
}

int overlayreg_lookup(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
		      const struct overlay_id *id, const char *domain, struct overlay_state *state)
{
	char path[VS_PATH_TMP_MAX], want[VS_MAX_OVERLAY_RECORD_BYTES], old[VS_MAX_OVERLAY_RECORD_BYTES];
	char *buf = NULL, *nl;
	size_t len;
	int n, no, fd, ok = 0, used = 0;
	struct stat st;
	struct overlay_state s;

	memset(state, 0, sizeof(*state));
	if (reg_path(state_dir, id, path, sizeof(path)) < 0 ||
	    (n = reg_body(REG_MAGIC, id, domain, want, sizeof(want))) < 0 ||
	    (no = reg_body(REG_MAGIC_LEGACY, id, domain, old, sizeof(old))) < 0)
		return 0;
	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &fd, &st, NULL) < 0)
		return 0;
	if (st.st_uid != geteuid() || (st.st_mode & 077) ||
	    fd_read_all(fd, path, VS_MAX_OVERLAY_RECORD_BYTES + HOSTSECRET_MAC_HEX + 8, &buf, &len,
			NULL) < 0) {
		close(fd);
		return 0;
	}
	close(fd);
	/* The record must be exactly the body this overlay and domain give, its state line, then
	 * its MAC over both; or an older hook's body and MAC. */
	if (len > (size_t)n && !memcmp(buf, want, (size_t)n) && !strncmp(buf + n, "state ", 6) &&
	    (nl = memchr(buf + n, '\n', len - (size_t)n)) != NULL) {
		*nl = '\0';
		if (sscanf(buf + n, "state %" SCNd64 " %" SCNd64 " %" SCNd64 "%n", &s.size, &s.mtime_ns,
			   &s.ctime_ns, &used) == 3 && used == nl - (buf + n) && s.size >= 0) {
			*nl = '\n';
			if (mac_line_ok(secret, buf, len, (size_t)(nl + 1 - buf))) {
				*state = s;
				ok = 1;
			}
		}
	} else if (len > (size_t)no && !memcmp(buf, old, (size_t)no) && mac_line_ok(secret, buf, len, (size_t)no)) {
		ok = OVERLAYREG_LEGACY;
	}
	free(buf);
	return ok;
}

int overlayreg_add(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
		   const struct overlay_id *id, const char *domain, const struct overlay_state *state,
		   struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX], dir[VS_PATH_TMP_MAX];
	char buf[VS_MAX_OVERLAY_RECORD_BYTES + HOSTSECRET_MAC_HEX + 8];
	char mac[HOSTSECRET_MAC_HEX];
	int n, m;

	snprintf(dir, sizeof(dir), "%s/overlays", state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vs_fail(err, VS_ERR_IO, dir, "cannot create: %s", strerror(errno));
	if (reg_path(state_dir, id, path, sizeof(path)) < 0 ||
	    (n = reg_body(REG_MAGIC, id, domain, buf, VS_MAX_OVERLAY_RECORD_BYTES)) < 0)
		return vs_fail(err, VS_ERR_INPUT, state_dir, "overlay record too long");
	m = snprintf(buf + n, VS_MAX_OVERLAY_RECORD_BYTES - (size_t)n, "state %" PRId64 " %" PRId64 " %" PRId64 "\n",
		     state->size, state->mtime_ns, state->ctime_ns);
	if (m < 0 || (size_t)m >= VS_MAX_OVERLAY_RECORD_BYTES - (size_t)n)
		return vs_fail(err, VS_ERR_INPUT, state_dir, "overlay record too long");
	n += m;
	hostsecret_mac(secret, REG_MAC_LABEL, buf, (size_t)n, mac);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "mac %s\n", mac);
	return file_write_atomic(path, buf, (size_t)n, 0600, 1, err);
}

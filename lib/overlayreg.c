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

#define REG_MAGIC "vmseal-overlay 1"
#define REG_MAC_LABEL "vmseal-overlay"

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

static int reg_body(const struct overlay_id *id, const char *domain, char *out, size_t outlen)
{
	char dhex[2 * VS_MAX_NAME_BYTES + 1];
	int n;

	if (strlen(domain) >= VS_MAX_NAME_BYTES)
		return -1;
	hex_encode((const uint8_t *)domain, strlen(domain), dhex);
	n = snprintf(out, outlen, REG_MAGIC "\ndomain %s\ndev %" PRIu64 "\nino %" PRIu64 "\nbirth %" PRId64 ".%09u\n",
		     dhex, id->dev, id->ino, id->birth_sec, id->birth_nsec);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int overlayreg_lookup(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
		      const struct overlay_id *id, const char *domain)
{
	char path[VS_PATH_TMP_MAX], want[VS_MAX_OVERLAY_RECORD_BYTES], mac[HOSTSECRET_MAC_HEX + 8];
	char *buf = NULL;
	size_t len;
	int n, fd, ok = 0;
	struct stat st;

	if (reg_path(state_dir, id, path, sizeof(path)) < 0 ||
	    (n = reg_body(id, domain, want, sizeof(want))) < 0)
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
	/* The record must be exactly the body this overlay and domain give, then its MAC. */
	if (len == (size_t)n + 4 + HOSTSECRET_MAC_HEX && !memcmp(buf, want, (size_t)n) &&
	    !strncmp(buf + n, "mac ", 4) && buf[len - 1] == '\n') {
		memcpy(mac, buf + n + 4, HOSTSECRET_MAC_HEX - 1);
		mac[HOSTSECRET_MAC_HEX - 1] = '\0';
		ok = hostsecret_mac_ok(secret, REG_MAC_LABEL, want, (size_t)n, mac);
	}
	free(buf);
	return ok;
}

int overlayreg_add(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
		   const struct overlay_id *id, const char *domain, struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX], dir[VS_PATH_TMP_MAX];
	char buf[VS_MAX_OVERLAY_RECORD_BYTES + HOSTSECRET_MAC_HEX + 8];
	char mac[HOSTSECRET_MAC_HEX];
	int n;

	snprintf(dir, sizeof(dir), "%s/overlays", state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vs_fail(err, VS_ERR_IO, dir, "cannot create: %s", strerror(errno));
	if (reg_path(state_dir, id, path, sizeof(path)) < 0 ||
	    (n = reg_body(id, domain, buf, VS_MAX_OVERLAY_RECORD_BYTES)) < 0)
		return vs_fail(err, VS_ERR_INPUT, state_dir, "overlay record too long");
	hostsecret_mac(secret, REG_MAC_LABEL, buf, (size_t)n, mac);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "mac %s\n", mac);
	return file_write_atomic(path, buf, (size_t)n, 0600, 1, err);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* started begin: libvirt 9.0 runs it after the vCPUs resumed, so this detects and stops a swap
 * between start begin and QEMU's open; the ownership rule (lib/filetrust.c) prevents it. */
#include "started.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "util.h"

#define RECORD_MAGIC "vmseal-started 1"
#define RECORD_MAC_LABEL "vmseal-started"

int started_record_add(struct started_record *r, uint64_t dev, uint64_t ino, const char *path,
		       struct vs_error *err)
{
	char canon[PATH_MAX];

	for (size_t i = 0; i < r->nfiles; i++)
		if (r->files[i].dev == dev && r->files[i].ino == ino)
			return 0;
	if (r->nfiles >= STARTED_MAX_FILES)
		return vs_fail(err, VS_ERR_INPUT, path, "more than %d verified files", STARTED_MAX_FILES);
	if (!realpath(path, canon))
		return vs_fail(err, VS_ERR_IO, path, "cannot resolve: %s", strerror(errno));
	if (r->nfiles == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct started_file *nf = realloc(r->files, cap * sizeof(*nf));

		if (!nf)
			return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
		r->files = nf;
		r->cap = cap;
	}
	r->files[r->nfiles].path = strdup(canon);
	if (!r->files[r->nfiles].path)
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	r->files[r->nfiles].kind = STARTED_HELD;
	r->files[r->nfiles].dev = dev;
	r->files[r->nfiles].ino = ino;
	r->files[r->nfiles].size = r->files[r->nfiles].mtime_ns = 0;
	r->nfiles++;
	return 0;
}

static int record_grow(struct started_record *r)
{
	if (r->nfiles == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct started_file *nf = realloc(r->files, cap * sizeof(*nf));

		if (!nf)
			return -1;
		r->files = nf;
		r->cap = cap;
	}
	return 0;
}

int started_record_add_boot(struct started_record *r, const struct stat *st, const char *path,
			    struct vs_error *err)
{
	struct started_file *f;

	for (size_t i = 0; i < r->nfiles; i++)
		if (r->files[i].kind == STARTED_BOOT && r->files[i].dev == (uint64_t)st->st_dev &&
		    r->files[i].ino == (uint64_t)st->st_ino && !strcmp(r->files[i].path, path))
			return 0;
	if (r->nfiles >= STARTED_MAX_FILES)
		return vs_fail(err, VS_ERR_INPUT, path, "more than %d verified files", STARTED_MAX_FILES);
	if (path[0] != '/' || strlen(path) >= VS_MAX_PATH_BYTES)
		return vs_fail(err, VS_ERR_INPUT, path, "a boot file's path must be absolute and shorter than %d bytes",
			       VS_MAX_PATH_BYTES);
	if (record_grow(r) < 0)
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	f = &r->files[r->nfiles];
	f->path = strdup(path);
	if (!f->path)
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	f->kind = STARTED_BOOT;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime_ns = vs_timespec_ns(&st->st_mtim);
	r->nfiles++;
	return 0;
}

void started_record_free(struct started_record *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	r->files = NULL;
	r->nfiles = r->cap = 0;
}

static int record_path(const char *state_dir, const char *domain, char *out, size_t outlen,
		       struct vs_error *err)
{
	uint8_t md[32];
	char hex[VS_SHA256_HEX_BYTES];

	if (!EVP_Digest(domain, strlen(domain), md, NULL, EVP_sha256(), NULL))
		return vs_fail(err, VS_ERR_INTERNAL, domain, "SHA-256 failed");
	hex_encode(md, 32, hex);
	if ((size_t)snprintf(out, outlen, "%s/started/%s", state_dir, hex) >= outlen)
		return vs_fail(err, VS_ERR_INPUT, state_dir, "path too long");
	return 0;
}

int started_record_write(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
			 const struct started_record *r, struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX], dir[VS_PATH_TMP_MAX], mac[HOSTSECRET_MAC_HEX];
	char *buf = malloc(STARTED_MAX_RECORD_BYTES), *dhex = NULL;
	size_t n = 0;
	int ret = -1;

	if (!buf)
		return vs_fail(err, VS_ERR_INTERNAL, r->domain, "out of memory");
	snprintf(dir, sizeof(dir), "%s/started", state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		vs_fail(err, VS_ERR_IO, dir, "cannot create: %s", strerror(errno));
		goto out;
	}
	if (record_path(state_dir, r->domain, path, sizeof(path), err) < 0)
		goto out;
	dhex = malloc(2 * VS_MAX_PATH_BYTES + 1);
	if (!dhex) {
		vs_fail(err, VS_ERR_INTERNAL, r->domain, "out of memory");
		goto out;
	}
	hex_encode((const uint8_t *)r->domain, strlen(r->domain), dhex);
	n += (size_t)snprintf(buf + n, STARTED_MAX_RECORD_BYTES - n, RECORD_MAGIC "\ndomain %s\nenforce %d\n",
			      dhex, r->enforce ? 1 : 0);
	if (r->audit_log[0]) {
		hex_encode((const uint8_t *)r->audit_log, strlen(r->audit_log), dhex);
		n += (size_t)snprintf(buf + n, STARTED_MAX_RECORD_BYTES - n, "audit %s\n", dhex);
	}
	for (size_t i = 0; i < r->nfiles; i++) {
		const struct started_file *f = &r->files[i];

		hex_encode((const uint8_t *)f->path, strlen(f->path), dhex);
		if (f->kind == STARTED_BOOT)
			n += (size_t)snprintf(buf + n, STARTED_MAX_RECORD_BYTES - n,
					      "boot %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %s\n",
					      f->dev, f->ino, f->size, f->mtime_ns, dhex);
		else
			n += (size_t)snprintf(buf + n, STARTED_MAX_RECORD_BYTES - n, "file %" PRIu64 " %" PRIu64 " %s\n",
					      f->dev, f->ino, dhex);
	}
	hostsecret_mac(secret, RECORD_MAC_LABEL, buf, n, mac);
	n += (size_t)snprintf(buf + n, STARTED_MAX_RECORD_BYTES - n, "mac %s\n", mac);
	/* not fsynced: the record lives as long as the QEMU it describes (lib/util.h) */
	ret = file_replace_until_reboot(path, buf, n, 0600, err);
out:
	free(dhex);
	free(buf);
	return ret;
}

static int hex_text(const char *hex, char *out, size_t outlen)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 >= outlen || hex_decode(hex, (uint8_t *)out, n / 2) < 0)
		return -1;
	out[n / 2] = '\0';
	return strlen(out) == n / 2 ? 0 : -1; /* no NUL inside */
}

int started_record_read(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
			const char *domain, struct started_record *r, struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX], *buf = NULL, *line, *save = NULL, *macline, text[VS_MAX_PATH_BYTES];
	size_t len;
	int ret = -1, nl = 0;
	struct stat st;
	int fd;

	memset(r, 0, sizeof(*r));
	if (record_path(state_dir, domain, path, sizeof(path), err) < 0)
		return -1;
	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &fd, &st, err) < 0) {
		if (err && err->kind == VS_ERR_NOTFOUND)
			vs_fail(err, VS_ERR_DENIED, path,
				"no record of what start begin verified: was the domain started through vmseal-hook?");
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return vs_fail(err, VS_ERR_DENIED, path, "record owned by uid %u with mode %04o",
			       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	if (fd_read_all(fd, path, STARTED_MAX_RECORD_BYTES, &buf, &len, err) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if (len < 2 || buf[len - 1] != '\n')
		goto bad;
	buf[len - 1] = '\0';
	macline = strrchr(buf, '\n');
	if (!macline || strncmp(macline + 1, "mac ", 4) ||
	    !hostsecret_mac_ok(secret, RECORD_MAC_LABEL, buf, (size_t)(macline + 1 - buf), macline + 5))
		goto bad;
	macline[1] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save), nl++) {
		uint64_t dev, ino;
		int64_t size = 0, mtime_ns = 0;
		enum started_kind kind = STARTED_HELD;
		char hex[2 * VS_MAX_PATH_BYTES + 1];
		int used = 0;

		if (nl == 0) {
			if (strcmp(line, RECORD_MAGIC))
				goto bad;
		} else if (nl == 1) {
			if (strncmp(line, "domain ", 7) || hex_text(line + 7, r->domain, sizeof(r->domain)) < 0 ||
			    strcmp(r->domain, domain))
				goto bad;
		} else if (nl == 2) {
			if (!strcmp(line, "enforce 1"))
				r->enforce = 1;
			else if (strcmp(line, "enforce 0"))
				goto bad;
		} else if (nl == 3 && !strncmp(line, "audit ", 6)) {
			if (hex_text(line + 6, r->audit_log, sizeof(r->audit_log)) < 0 || r->audit_log[0] != '/')
				goto bad;
		} else {
			if (!strncmp(line, "boot ", 5)) {
				kind = STARTED_BOOT;
				if (sscanf(line, "boot %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64 " %8192s%n",
					   &dev, &ino, &size, &mtime_ns, hex, &used) != 5 || size < 0)
					goto bad;
			} else if (sscanf(line, "file %" SCNu64 " %" SCNu64 " %8192s%n", &dev, &ino, hex, &used) != 3) {
				goto bad;
			}
			if (line[used] || hex_text(hex, text, sizeof(text)) < 0 || text[0] != '/')
				goto bad;
			if (r->nfiles >= STARTED_MAX_FILES || record_grow(r) < 0)
				goto bad;
			r->files[r->nfiles].path = strdup(text);
			if (!r->files[r->nfiles].path)
				goto bad;
			r->files[r->nfiles].kind = kind;
			r->files[r->nfiles].dev = dev;
			r->files[r->nfiles].ino = ino;
			r->files[r->nfiles].size = size;
			r->files[r->nfiles].mtime_ns = mtime_ns;
			r->nfiles++;
		}
	}
	if (nl < 3)
		goto bad;
	ret = 0;
	goto out;
bad:
	vs_fail(err, VS_ERR_DENIED, path, "record of start begin is malformed or has no valid MAC");
	started_record_free(r);
out:
	free(buf);
	return ret;
}

int started_record_remove(const char *state_dir, const char *domain, struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX];

	if (record_path(state_dir, domain, path, sizeof(path), err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return vs_fail(err, VS_ERR_IO, path, "cannot remove: %s", strerror(errno));
	return 0;
}

int started_read_pid(const char *pid_dir, const char *domain, pid_t *pid, struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX], *buf = NULL, *end;
	long v;

	if (strchr(domain, '/') || !domain[0])
		return vs_fail(err, VS_ERR_INPUT, domain, "domain name cannot name a pid file");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.pid", pid_dir, domain) >= sizeof(path))
		return vs_fail(err, VS_ERR_INPUT, pid_dir, "path too long");
	if (file_read_all(path, 64, &buf, NULL, err) < 0)
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == buf || *end || v <= 1 || v > INT32_MAX) {
		free(buf);
		return vs_fail(err, VS_ERR_INPUT, path, "not a pid");
	}
	free(buf);
	*pid = (pid_t)v;
	return 0;
}

struct held {
	uint64_t dev, ino;
	char path[PATH_MAX];
};

/* A boot file QEMU read at its start: its path names the judged inode, unchanged. */
static int boot_unchanged(const struct started_file *f, struct vs_error *err)
{
	struct stat st;

	if (stat(f->path, &st) < 0)
		return vs_fail(err, VS_ERR_DENIED, f->path, "swapped after start begin: %s (start begin verified inode %" PRIu64 ")",
			       strerror(errno), f->ino);
	if ((uint64_t)st.st_dev != f->dev || (uint64_t)st.st_ino != f->ino)
		return vs_fail(err, VS_ERR_DENIED, f->path,
			       "swapped after start begin: the path names device %" PRIu64 " inode %" PRIu64
			       ", start begin verified inode %" PRIu64,
			       (uint64_t)st.st_dev, (uint64_t)st.st_ino, f->ino);
	if (st.st_size != f->size || vs_timespec_ns(&st.st_mtim) != f->mtime_ns)
		return vs_fail(err, VS_ERR_DENIED, f->path,
			       "rewritten after start begin: its size or mtime is not the one verified (size %jd, verified %jd)",
			       (intmax_t)st.st_size, (intmax_t)f->size);
	return 0;
}

int started_check_pid(const struct started_record *r, const char *proc_root, pid_t pid,
		      struct vs_error *err)
{
	char dirpath[VS_PATH_TMP_MAX];
	struct held *h = NULL;
	size_t nh = 0, caph = 0;
	struct dirent *e;
	DIR *d;
	int dfd, ret = -1;

	snprintf(dirpath, sizeof(dirpath), "%s/%d/fd", proc_root, (int)pid);
	d = opendir(dirpath);
	if (!d)
		return vs_fail(err, VS_ERR_IO, dirpath, "cannot list QEMU's descriptors: %s", strerror(errno));
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		struct stat st;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		if (nh >= STARTED_MAX_FDS) {
			vs_fail(err, VS_ERR_INPUT, dirpath, "more than %d descriptors", STARTED_MAX_FDS);
			goto out;
		}
		if (fstatat(dfd, e->d_name, &st, 0) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)))
			continue; /* closed meanwhile, or a socket, pipe, device, eventfd... */
		if (nh == caph) {
			size_t cap = caph ? caph * 2 : 64;
			struct held *nhp = realloc(h, cap * sizeof(*nhp));

			if (!nhp) {
				vs_fail(err, VS_ERR_INTERNAL, dirpath, "out of memory");
				goto out;
			}
			h = nhp;
			caph = cap;
		}
		h[nh].dev = st.st_dev;
		h[nh].ino = st.st_ino;
		n = readlinkat(dfd, e->d_name, h[nh].path, sizeof(h[nh].path) - 1);
		h[nh].path[n > 0 ? n : 0] = '\0';
		nh++;
	}
	for (size_t i = 0; i < r->nfiles; i++) {
		const struct started_file *f = &r->files[i];
		int held = 0;

		if (f->kind == STARTED_BOOT) {
			if (boot_unchanged(f, err) < 0)
				goto out;
			continue;
		}
		for (size_t j = 0; j < nh; j++) {
			if (h[j].dev == f->dev && h[j].ino == f->ino)
				held = 1;
			else if (!strcmp(h[j].path, f->path)) {
				vs_fail(err, VS_ERR_DENIED, f->path,
					"swapped after start begin: QEMU holds device %" PRIu64 " inode %" PRIu64
					" at this path, start begin verified inode %" PRIu64,
					h[j].dev, h[j].ino, f->ino);
				goto out;
			}
		}
		if (!held) {
			vs_fail(err, VS_ERR_DENIED, f->path,
				"swapped after start begin: QEMU does not hold the verified file (device %" PRIu64
				" inode %" PRIu64 ")", f->dev, f->ino);
			goto out;
		}
	}
	ret = 0;
out:
	closedir(d);
	free(h);
	return ret;
}

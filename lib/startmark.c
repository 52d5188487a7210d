/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's start mark: the latest created any accepted call may carry, kept on disk. */
#include "startmark.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "limits.h"

#define STARTMARK_FORMAT "vmseal-gateway-start-v1"

int startmark_parse(const char *text, size_t n, int64_t *out)
{
	static const char prefix[] = STARTMARK_FORMAT " ";
	char buf[VS_MAX_STARTMARK_BYTES + 1], *end;
	const char *digits = buf + sizeof(prefix) - 1;
	long long v;

	if (n == 0)
		return 0;
	if (n > VS_MAX_STARTMARK_BYTES || n < sizeof(prefix) + 1)
		return -2;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (memcmp(buf, prefix, sizeof(prefix) - 1) || *digits < '0' || *digits > '9' ||
	    (digits[0] == '0' && digits[1] != '\n')) /* one spelling: no leading zeros */
		return -2;
	errno = 0;
	v = strtoll(digits, &end, 10);
	if (errno || end != buf + n - 1 || *end != '\n')
		return -2;
	*out = v;
	return 1;
}

/* Reads the file's mark (startmark_parse), -1 on I/O error. A file longer than a mark is not
 * one: one byte more than the longest mark is read to tell. */
static int read_mark(int fd, int64_t *out)
{
	char buf[VS_MAX_STARTMARK_BYTES + 1];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return -1;
	return startmark_parse(buf, (size_t)n, out);
}

int startmark_open(const char *path, int64_t t_start, struct startmark *m, int64_t *prev,
		   struct vs_error *err)
{
	struct stat st;
	int r;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	*prev = 0;
	if (snprintf(m->path, sizeof(m->path), "%s", path) >= (int)sizeof(m->path))
		return vs_fail(err, VS_ERR_USAGE, "start mark", "path too long");
	m->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (m->fd < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot open the gateway's start mark: %s",
			       strerror(errno));
	if (fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 022) ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		vs_fail(err, VS_ERR_IO, path,
			"the gateway's start mark must be a regular file of ours, not writable by others");
		goto fail;
	}
	if (flock(m->fd, LOCK_EX) < 0) {
		vs_fail(err, VS_ERR_IO, path, "cannot lock: %s", strerror(errno));
		goto fail;
	}
	r = read_mark(m->fd, prev);
	flock(m->fd, LOCK_UN);
	if (r == -1) {
		vs_fail(err, VS_ERR_IO, path, "cannot read: %s", strerror(errno));
		goto fail;
	}
	if (r == -2) /* a write cut short: assume the most a previous run could have accepted */
		*prev = t_start + STARTMARK_LEASE_S + STARTMARK_UNKNOWN_SKEW_S;
	m->mark = *prev;
	pthread_mutex_init(&m->lock, NULL);
	m->is_open = 1;
	return 0;
fail:
	close(m->fd);
	m->fd = -1;
	return -1;
}

int64_t startmark_not_before(int64_t prev, int64_t t_start, int64_t fs)
{
	int64_t nb = t_start + (fs > 0 ? fs : 0);

	if (prev > nb)
		nb = prev;
	return nb < INT64_MAX ? nb + 1 : nb;
}

int startmark_cover(struct startmark *m, int64_t now, int64_t fs, struct vs_error *err)
{
	int64_t need = now + (fs > 0 ? fs : 0), file = 0, want;
	char line[VS_MAX_STARTMARK_BYTES];
	int len, r, ret = -1;

	if (need + STARTMARK_LEASE_S / 2 <= __atomic_load_n(&m->mark, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&m->lock);
	if (need + STARTMARK_LEASE_S / 2 <= m->mark) {
		ret = 0;
		goto out;
	}
	if (m->fd < 0 || flock(m->fd, LOCK_EX) < 0) {
		vs_fail(err, VS_ERR_IO, m->path, "cannot lock the start mark");
		goto out;
	}
	/* another gateway sharing the file may have moved it on: the mark only grows */
	r = read_mark(m->fd, &file);
	want = need + STARTMARK_LEASE_S;
	if (r == 1 && file > want)
		want = file;
	if (m->mark > want)
		want = m->mark;
	len = snprintf(line, sizeof(line), STARTMARK_FORMAT " %" PRId64 "\n", want);
	if (pwrite(m->fd, line, (size_t)len, 0) != len || ftruncate(m->fd, len) < 0 ||
	    fdatasync(m->fd) < 0) {
		vs_fail(err, VS_ERR_IO, m->path, "cannot write the start mark: %s", strerror(errno));
		flock(m->fd, LOCK_UN);
		goto out;
	}
	flock(m->fd, LOCK_UN);
	__atomic_store_n(&m->mark, want, __ATOMIC_RELEASE);
	ret = 0;
out:
	if (ret == 0 && need > m->mark)
		ret = vs_fail(err, VS_ERR_IO, m->path, "the start mark does not cover the call");
	pthread_mutex_unlock(&m->lock);
	return ret;
}

void startmark_close(struct startmark *m)
{
	if (!m || !m->is_open)
		return;
	close(m->fd);
	m->fd = -1;
	m->is_open = 0;
	pthread_mutex_destroy(&m->lock);
}

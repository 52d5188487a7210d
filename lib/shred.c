/* SPDX-License-Identifier: Apache-2.0 */
/* Overwrite a file's blocks in place (random, then zeros), fsync, unlink, fsync the directory. */
#include "shred.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "limits.h"
#include "shamir.h"
#include "util.h"

static int overwrite_pass(int fd, off_t size, int random)
{
	unsigned char buf[4096];
	off_t done = 0;

	memset(buf, 0, sizeof(buf));
	while (done < size) {
		size_t n = (size_t)(size - done) < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		ssize_t w;

		if (random && RAND_bytes(buf, (int)n) != 1)
			return -1;
		w = pwrite(fd, buf, n, done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += w;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return fsync(fd);
}

/* Opens path for overwriting and checks it is one regular file of the kind asked for. Returns the
 * descriptor, or -1. */
static int shred_open(const char *path, enum shred_kind kind, off_t *size, struct vs_error *err)
{
	struct key_share share;
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, ok = 0;

	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		vs_fail(err, errno == ELOOP ? VS_ERR_INPUT : VS_ERR_IO, path, errno == ELOOP ?
			"is a symbolic link: give the file itself" : "cannot open for overwriting: %s",
			strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		vs_fail(err, VS_ERR_INPUT, path, "not a regular file");
		goto out;
	}
	if (st.st_nlink > 1) {
		vs_fail(err, VS_ERR_INPUT, path,
			"%ju other hard link%s name%s this file: nothing overwritten (find them with "
			"`find / -xdev -samefile %s`, remove them, then destroy)",
			(uintmax_t)st.st_nlink - 1, st.st_nlink == 2 ? "" : "s", st.st_nlink == 2 ? "s" : "", path);
		goto out;
	}
	if (fd_read_all(fd, path, kind == SHRED_KEY_SHARE ? SHARE_MAX_FILE_BYTES : VS_MAX_KEY_FILE_BYTES,
			&data, &len, err) < 0)
		goto out;
	if (kind == SHRED_PRIVATE_KEY) {
		ok = memmem(data, len, "-----BEGIN ", 11) && memmem(data, len, "PRIVATE KEY-----", 16);
		if (!ok)
			vs_fail(err, VS_ERR_INPUT, path, "not a PEM private key file: nothing overwritten");
	} else {
		ok = share_parse(data, len, path, &share, err) == 0;
		if (ok)
			share_clear(&share);
	}
	*size = st.st_size;
out:
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

int file_shred_check(const char *path, enum shred_kind kind, struct vs_error *err)
{
	off_t size;
	int fd = shred_open(path, kind, &size, err);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int file_shred(const char *path, enum shred_kind kind, struct vs_error *err)
{
	off_t size = 0;
	int fd, r = -1;

	fd = shred_open(path, kind, &size, err);
	if (fd < 0)
		return -1;
	if (overwrite_pass(fd, size, 1) < 0 || overwrite_pass(fd, size, 0) < 0) {
		vs_fail(err, VS_ERR_IO, path, "overwrite failed: %s", strerror(errno));
		goto out;
	}
	if (unlink(path) < 0) {
		vs_fail(err, VS_ERR_IO, path, "overwritten but cannot unlink: %s", strerror(errno));
		goto out;
	}
	(void)vs_fsync_dir_of(path); /* the name's removal durable, where it can be */
	r = 0;
out:
	close(fd);
	return r;
}

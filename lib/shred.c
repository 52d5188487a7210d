/* SPDX-License-Identifier: Apache-2.0 */
/* Overwrite a file's blocks in place (random, then zeros), fsync, unlink, fsync the directory. */
#include "shred.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "limits.h"

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

int file_shred(const char *path, unsigned *other_links, struct vs_error *err)
{
	struct stat st;
	char *copy = NULL;
	int fd, dfd, r = -1;

	*other_links = 0;
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot open for overwriting: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		vs_fail(err, VS_ERR_IO, path, "not a regular file");
		goto out;
	}
	*other_links = st.st_nlink > 1 ? (unsigned)st.st_nlink - 1 : 0;
	if (overwrite_pass(fd, st.st_size, 1) < 0 || overwrite_pass(fd, st.st_size, 0) < 0) {
		vs_fail(err, VS_ERR_IO, path, "overwrite failed: %s", strerror(errno));
		goto out;
	}
	if (unlink(path) < 0) {
		vs_fail(err, VS_ERR_IO, path, "overwritten but cannot unlink: %s", strerror(errno));
		goto out;
	}
	copy = strdup(path);
	if (copy) {
		dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	r = 0;
out:
	free(copy);
	close(fd);
	return r;
}

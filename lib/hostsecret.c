/* SPDX-License-Identifier: Apache-2.0 */
/* Host secret for the allow-cache, the overlay registry and the started-check records. */
#include "hostsecret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "limits.h"
#include "util.h"

static int secret_create(const char *path, struct vs_error *err)
{
	uint8_t k[HOSTSECRET_BYTES];
	int fd, r = -1;

	if (RAND_priv_bytes(k, sizeof(k)) != 1)
		return vs_fail(err, VS_ERR_INTERNAL, path, "no randomness for the host secret");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		OPENSSL_cleanse(k, sizeof(k));
		if (errno == EEXIST) /* another hook made it first: use theirs */
			return 0;
		return vs_fail(err, VS_ERR_IO, path, "cannot create host secret: %s", strerror(errno));
	}
	if (write(fd, k, sizeof(k)) != (ssize_t)sizeof(k) || fsync(fd) < 0) {
		vs_fail(err, VS_ERR_IO, path, "cannot write host secret: %s", strerror(errno));
		unlink(path);
	} else {
		r = 0;
	}
	OPENSSL_cleanse(k, sizeof(k));
	close(fd);
	return r;
}

int hostsecret_load(const char *dir, int create, uint8_t key[static HOSTSECRET_BYTES],
		    struct vs_error *err)
{
	char path[VS_PATH_TMP_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, HOSTSECRET_FILE) >= sizeof(path))
		return vs_fail(err, VS_ERR_INPUT, dir, "path too long");
	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, "host secret", &fd, &st, err) < 0) {
		if (!err || err->kind != VS_ERR_NOTFOUND || !create)
			return -1;
		if (secret_create(path, err) < 0 ||
		    vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, "host secret", &fd, &st, err) < 0)
			return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) || st.st_size != HOSTSECRET_BYTES) {
		close(fd);
		return vs_fail(err, VS_ERR_INPUT, path,
			       "host secret is owned by uid %u with mode %04o and %lld bytes; want uid %u, 0600, %d bytes",
			       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (long long)st.st_size,
			       (unsigned)geteuid(), HOSTSECRET_BYTES);
	}
	n = pread(fd, key, HOSTSECRET_BYTES, 0);
	close(fd);
	if (n != HOSTSECRET_BYTES) {
		OPENSSL_cleanse(key, HOSTSECRET_BYTES);
		return vs_fail(err, VS_ERR_IO, path, "cannot read host secret");
	}
	return 0;
}

void hostsecret_wipe(uint8_t key[static HOSTSECRET_BYTES])
{
	OPENSSL_cleanse(key, HOSTSECRET_BYTES);
}

static int mac_raw(const uint8_t key[static HOSTSECRET_BYTES], const char *label, const void *data,
		   size_t len, uint8_t md[static 32])
{
	size_t ll = strlen(label) + 1;
	unsigned mdlen = 0;
	uint8_t *buf = malloc(ll + len + 1);
	int ok;

	if (!buf)
		return -1;
	memcpy(buf, label, ll);
	if (len)
		memcpy(buf + ll, data, len);
	ok = HMAC(EVP_sha256(), key, HOSTSECRET_BYTES, buf, ll + len, md, &mdlen) && mdlen == 32;
	free(buf);
	return ok ? 0 : -1;
}

void hostsecret_mac(const uint8_t key[static HOSTSECRET_BYTES], const char *label, const void *data,
		    size_t len, char out[static HOSTSECRET_MAC_HEX])
{
	uint8_t md[32];

	if (mac_raw(key, label, data, len, md) < 0) {
		/* An impossible MAC never verifies. */
		memset(out, 'x', HOSTSECRET_MAC_HEX - 1);
		out[HOSTSECRET_MAC_HEX - 1] = '\0';
		return;
	}
	hex_encode(md, 32, out);
}

int hostsecret_mac_ok(const uint8_t key[static HOSTSECRET_BYTES], const char *label,
		      const void *data, size_t len, const char *mac)
{
	char want[HOSTSECRET_MAC_HEX];

	if (strlen(mac) != HOSTSECRET_MAC_HEX - 1)
		return 0;
	hostsecret_mac(key, label, data, len, want);
	if (want[0] == 'x')
		return 0;
	return CRYPTO_memcmp(want, mac, HOSTSECRET_MAC_HEX - 1) == 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded file reads, crash-safe writes, encodings and time. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

void vs_prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
	uintptr_t b = ((uintptr_t)p + len) & ~((uintptr_t)pg - 1);

	if (pg > 0 && len >= VS_PREFAULT_MIN_BYTES && b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE); /* older kernels: EINVAL, harmless */
#else
	(void)p;
	(void)len;
#endif
}

int fd_close_from_listing(int lowfd)
{
	DIR *d = opendir("/proc/self/fd");
	struct rlimit rl;
	int closed;

	if (d) {
		/* closing while listing may skip entries: again until a pass closes nothing */
		do {
			struct dirent *e;

			closed = 0;
			rewinddir(d);
			while ((e = readdir(d))) {
				char *end;
				long fd = strtol(e->d_name, &end, 10);

				if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end || fd < lowfd ||
				    fd == dirfd(d))
					continue;
				close((int)fd);
				closed = 1;
			}
		} while (closed);
		closedir(d);
		return 0;
	}
	/* no /proc: every number the hard limit allows (a descriptor opened before the soft
	 * limit was lowered lies above it); a limit past the kernel's own (nr_open, at most 2^30
	 * here) cannot be walked: refused */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 30)) {
		errno = EMFILE;
		return -1;
	}
	for (rlim_t fd = (rlim_t)lowfd; fd < rl.rlim_max; fd++)
		close((int)fd);
	return 0;
}

int fd_close_from(int lowfd)
{
	if (lowfd < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!fault_is("close_range") && close_range((unsigned)lowfd, ~0U, 0) == 0)
		return 0;
	return fd_close_from_listing(lowfd);
}

int fd_read_all(int fd, const char *name, size_t max, char **out, size_t *len, struct vs_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t cap, n = 0;

	if (fstat(fd, &st) < 0)
		return vs_fail(err, VS_ERR_IO, name, "cannot stat: %s", strerror(errno));
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		return vs_fail(err, VS_ERR_INPUT, name, "file is %lld bytes, limit is %zu",
			       (long long)st.st_size, max);
	/* a regular file: its size, a byte for the read that sees the end, and the NUL */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 4096;
	buf = malloc(cap);
	if (!buf)
		return vs_fail(err, VS_ERR_INTERNAL, name, "out of memory");
	vs_prefault(buf, cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb;

			if (cap > max + 1) {
				free(buf);
				return vs_fail(err, VS_ERR_INPUT, name, "input exceeds limit of %zu bytes", max);
			}
			cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return vs_fail(err, VS_ERR_INTERNAL, name, "out of memory");
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return vs_fail(err, VS_ERR_IO, name, "read failed: %s", strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return vs_fail(err, VS_ERR_INPUT, name, "input exceeds limit of %zu bytes", max);
		}
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

const char *vs_file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "of unknown type";
	}
}

static const char *allowed_name(unsigned allowed)
{
	switch (allowed & (VS_INPUT_REG | VS_INPUT_BLK | VS_INPUT_DIR)) {
	case VS_INPUT_REG:
		return "a regular file";
	case VS_INPUT_BLK:
		return "a block device";
	case VS_INPUT_DIR:
		return "a directory";
	case VS_INPUT_REG | VS_INPUT_BLK:
		return "a regular file or block device";
	default:
		return "a file";
	}
}

int vs_open_input(const char *path, unsigned allowed, const char *name, int *fd, struct stat *st,
		  struct vs_error *err)
{
	struct stat sb;
	unsigned got;
	int f, fl;

	*fd = -1;
	/* O_NONBLOCK: opening a FIFO for reading waits for a writer, for ever; the type check below
	 * then refuses it before the first read. */
	f = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
			       (allowed & VS_INPUT_NOFOLLOW ? O_NOFOLLOW : 0));
	if (f < 0) {
		int e = errno;

		vs_fail(err, e == ENOENT ? VS_ERR_NOTFOUND : VS_ERR_IO, path, "%s%scannot open: %s",
			name ? name : "", name ? ": " : "", strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(f, &sb) < 0) {
		int e = errno;

		close(f);
		vs_fail(err, VS_ERR_IO, path, "cannot stat: %s", strerror(e));
		errno = e;
		return -1;
	}
	got = S_ISREG(sb.st_mode) ? VS_INPUT_REG : S_ISBLK(sb.st_mode) ? VS_INPUT_BLK
		: S_ISDIR(sb.st_mode) ? VS_INPUT_DIR : 0;
	if (!(got & allowed)) {
		close(f);
		vs_fail(err, VS_ERR_INPUT, path, "%s%sis %s, not %s", name ? name : "", name ? " " : "",
			vs_file_type_name(sb.st_mode), allowed_name(allowed));
		errno = EINVAL;
		return -1;
	}
	fl = fcntl(f, F_GETFL);
	if (fl < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;

		close(f);
		vs_fail(err, VS_ERR_IO, path, "fcntl: %s", strerror(e));
		errno = e;
		return -1;
	}
	*fd = f;
	if (st)
		*st = sb;
	return 0;
}

int vs_check_input(const char *path, unsigned allowed, const char *name, struct vs_error *err)
{
	int fd;

	if (vs_open_input(path, allowed, name, &fd, NULL, err) < 0)
		return -1;
	close(fd);
	return 0;
}

int fd_pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		p += r;
		off += r;
		len -= (size_t)r;
	}
	return 1;
}

int vs_is_lower_hex(const char *s, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	/* sixteen at a time (one key id per key of a big policy): c - '0' <= 9 or c - 'a' <= 5,
	 * unsigned (a saturating subtraction is 0 exactly then) */
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(s + i)), z = _mm_setzero_si128();
		__m128i d = _mm_subs_epu8(_mm_sub_epi8(x, _mm_set1_epi8('0')), _mm_set1_epi8(9));
		__m128i a = _mm_subs_epu8(_mm_sub_epi8(x, _mm_set1_epi8('a')), _mm_set1_epi8(5));

		if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(d, z), _mm_cmpeq_epi8(a, z))) != 0xFFFF)
			return 0;
	}
#endif
	for (; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int64_t vs_timespec_ns(const struct timespec *t)
{
	/* saturated outside ±292 years of 1970 (a file stamped in 2300 by touch -d) */
	if (t->tv_sec > INT64_MAX / 1000000000 - 1)
		return INT64_MAX;
	if (t->tv_sec < INT64_MIN / 1000000000 + 1)
		return INT64_MIN;
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int vs_stat_same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int file_read_all(const char *path, size_t max, char **out, size_t *len, struct vs_error *err)
{
	int fd, r;

	if (vs_open_input(path, VS_INPUT_REG, NULL, &fd, NULL, err) < 0)
		return -1;
	r = fd_read_all(fd, path, max, out, len, err);
	close(fd);
	return r;
}

static int write_full(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int vs_path_dir(const char *path, char *out, size_t cap)
{
	size_t n = strlen(path);
	const char *d;

	if (n >= cap || cap < 2) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, path, n + 1);
	d = dirname(out); /* out itself, or a static "." or "/" */
	if (d != out)
		memmove(out, d, strlen(d) + 1);
	return 0;
}

int vs_fsync_dir_of(const char *path)
{
	char dir[VS_PATH_TMP_MAX];
	int fd, r;

	if (vs_path_dir(path, dir, sizeof(dir)) < 0)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Opens an unnamed file in path's directory (O_TMPFILE): until it is linked, a crash leaves
 * nothing behind. -1 with errno when the file system cannot. */
static int open_unnamed(const char *path, unsigned mode)
{
	char dir[VS_PATH_TMP_MAX];

	if (vs_path_dir(path, dir, sizeof(dir)) < 0)
		return -1;
	return open(dir, O_WRONLY | O_TMPFILE | O_CLOEXEC, mode);
}

static int link_unnamed(int fd, const char *dst)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW);
}

/* A kill between linking the temp name and renaming it over path (replace mode) leaves a
 * complete but stray PATH.tmp-<16 hex>. The next successful replace of path removes such
 * siblings once they are older than 10 s, so a writer still inside that window (microseconds)
 * is never disturbed. */
static void remove_stale_temps(const char *path)
{
	char dirbuf[VS_PATH_TMP_MAX], basebuf[VS_PATH_TMP_MAX];
	const char *base;
	struct dirent *e;
	time_t now = time(NULL);
	size_t bl;
	DIR *d;

	if (vs_path_dir(path, dirbuf, sizeof(dirbuf)) < 0)
		return;
	snprintf(basebuf, sizeof(basebuf), "%s", path);
	base = basename(basebuf);
	bl = strlen(base);
	d = opendir(dirbuf);
	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *suf = e->d_name + bl;
		struct stat st;

		if (strncmp(e->d_name, base, bl) || strncmp(suf, ".tmp-", 5) || strlen(suf + 5) != 16 ||
		    strspn(suf + 5, "0123456789abcdef") != 16)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    now - st.st_mtime >= 10)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* n <= 256 bytes from getrandom(2), waiting for the pool at early boot as RAND_bytes would. */
static int temp_name_random(unsigned char *buf, size_t n)
{
	ssize_t r;

	while ((r = getrandom(buf, n, 0)) < 0 && errno == EINTR)
		;
	return r == (ssize_t)n ? 0 : -1;
}

/* How durable write_atomic makes what it writes: */
enum {
	WA_SYNC_DATA = 1, /* fsync the file before it is linked into place */
	WA_SYNC_NAME = 2, /* and the directory after: the new name survives a crash */
};

static int write_atomic(const char *path, const void *data, size_t len, unsigned mode, int replace,
			int durable, struct vs_error *err)
{
	char tmp[VS_PATH_TMP_MAX];
	unsigned char rnd[8];
	char rhex[17];
	int fd, saved, unnamed = 1;

	if (strlen(path) + 32 >= sizeof(tmp))
		return vs_fail(err, VS_ERR_USAGE, path, "path too long");
	if (!replace && access(path, F_OK) == 0)
		return vs_fail(err, VS_ERR_IO, path, "already exists; refusing to overwrite");
	/* The temp name only has to be unpredictable, not secret: the kernel's generator directly.
	 * RAND_bytes would first set up OpenSSL's DRBG, ~0.5 ms here, and the hook writes its
	 * records and audit head through this function on every judged call. */
	if (temp_name_random(rnd, sizeof(rnd)) < 0)
		return vs_fail(err, VS_ERR_INTERNAL, path, "no randomness for temp name");
	hex_encode(rnd, sizeof(rnd), rhex);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rhex);
	fd = open_unnamed(path, mode);
	if (fd < 0) {
		unnamed = 0;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (fd < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot create file: %s", strerror(errno));
	if (fchmod(fd, mode) < 0 || write_full(fd, data, len) < 0 || ((durable & WA_SYNC_DATA) && fsync(fd) < 0)) {
		saved = errno;
		close(fd);
		if (!unnamed)
			unlink(tmp);
		return vs_fail(err, VS_ERR_IO, path, "write failed: %s", strerror(saved));
	}
	fault_point("before-rename");
	if (unnamed) {
		/* link() never replaces: straight into place when not replacing, else via tmp. */
		if (link_unnamed(fd, replace ? tmp : path) < 0) {
			saved = errno;
			close(fd);
			if (saved == EEXIST && !replace)
				return vs_fail(err, VS_ERR_IO, path, "already exists; refusing to overwrite");
			return vs_fail(err, VS_ERR_IO, path, "cannot link into place: %s", strerror(saved));
		}
	}
	if (close(fd) < 0) {
		saved = errno;
		unlink(unnamed && !replace ? path : tmp);
		return vs_fail(err, VS_ERR_IO, path, "write failed: %s", strerror(saved));
	}
	if (replace) {
		if (rename(tmp, path) < 0) {
			saved = errno;
			unlink(tmp);
			return vs_fail(err, VS_ERR_IO, path, "cannot rename into place: %s", strerror(saved));
		}
		remove_stale_temps(path);
	} else if (!unnamed) {
		if (link(tmp, path) < 0) {
			saved = errno;
			unlink(tmp);
			if (saved == EEXIST)
				return vs_fail(err, VS_ERR_IO, path, "already exists; refusing to overwrite");
			return vs_fail(err, VS_ERR_IO, path, "cannot link into place: %s", strerror(saved));
		}
		unlink(tmp);
	}
	if ((durable & WA_SYNC_NAME) && vs_fsync_dir_of(path) < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot fsync directory: %s", strerror(errno));
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode, int replace,
		      struct vs_error *err)
{
	return write_atomic(path, data, len, mode, replace, WA_SYNC_DATA | WA_SYNC_NAME, err);
}

int file_replace_may_lag(const char *path, const void *data, size_t len, unsigned mode,
			 struct vs_error *err)
{
	return write_atomic(path, data, len, mode, 1, WA_SYNC_DATA, err);
}

int file_replace_until_reboot(const char *path, const void *data, size_t len, unsigned mode,
			      struct vs_error *err)
{
	return write_atomic(path, data, len, mode, 1, 0, err);
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i = 0;

#ifdef __SSE2__
	/* sixteen bytes at a time (a policy index turns thousands of key ids into hex) */
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(in + i)), m = _mm_set1_epi8(0x0f);
		__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), m), lo = _mm_and_si128(x, m);
		__m128i d[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};

		for (int k = 0; k < 2; k++) { /* nibble + '0', and 'a' - '0' - 10 more above 9 */
			__m128i above9 = _mm_and_si128(_mm_cmpgt_epi8(d[k], _mm_set1_epi8(9)),
						       _mm_set1_epi8('a' - '0' - 10));

			_mm_storeu_si128((__m128i *)(out + 2 * i + 16 * k),
					 _mm_add_epi8(_mm_add_epi8(d[k], _mm_set1_epi8('0')), above9));
		}
	}
#endif
	for (; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_uint_strict(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int hex_decode(const char *in, uint8_t *out, size_t n)
{
	size_t i;

	if (strlen(in) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const uint8_t *in, size_t n)
{
	size_t olen = 4 * ((n + 2) / 3), i, o = 0;
	char *out = malloc(olen + 1);

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64std[v >> 18 & 63];
		out[o++] = b64std[v >> 12 & 63];
		out[o++] = b64std[v >> 6 & 63];
		out[o++] = b64std[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64std[v >> 18 & 63];
		out[o++] = b64std[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64std[v >> 18 & 63];
		out[o++] = b64std[v >> 12 & 63];
		out[o++] = b64std[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int b64val(char c, int urlsafe)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || (urlsafe && c == '-'))
		return 62;
	if (c == '/' || (urlsafe && c == '_'))
		return 63;
	return -1;
}

int b64_decode(const char *in, size_t inlen, int urlsafe, uint8_t **out, size_t *outlen)
{
	size_t i, o = 0, pad = 0;
	uint8_t *buf;

	if (inlen % 4 != 0)
		return -1;
	if (inlen >= 1 && in[inlen - 1] == '=')
		pad++;
	if (inlen >= 2 && in[inlen - 2] == '=')
		pad++;
	buf = malloc(inlen / 4 * 3 + 1);
	if (!buf)
		return -1;
	for (i = 0; i < inlen; i += 4) {
		int v[4], k;
		int last = i + 4 == inlen;

		for (k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				if (in[i + k] != '=')
					goto bad;
				v[k] = 0;
				continue;
			}
			v[k] = b64val(in[i + k], urlsafe);
			if (v[k] < 0)
				goto bad;
		}
		buf[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (!(last && pad == 2))
			buf[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		if (!(last && pad >= 1))
			buf[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
		/* Canonical encoding: bits beyond the data must be zero. */
		if (last && pad == 2 && (v[1] & 15))
			goto bad;
		if (last && pad == 1 && (v[2] & 3))
			goto bad;
	}
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -1;
}

/* Reads exactly n decimal digits (no sign, no space) at *p and advances past them. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : mdays[month - 1];
}

/* Days from 1970-01-01 to year-month-day of the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil): no timegm, no time zone, no normalisation of out-of-range fields. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int time_parse_rfc3339(const char *s, int64_t *out)
{
	int year, mon, mday, hour, min, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;
	int64_t t;

	if (!s || digits(&p, 4, &year) < 0 || *p++ != '-' || digits(&p, 2, &mon) < 0 || *p++ != '-' ||
	    digits(&p, 2, &mday) < 0 || *p++ != 'T' || digits(&p, 2, &hour) < 0 || *p++ != ':' ||
	    digits(&p, 2, &min) < 0 || *p++ != ':' || digits(&p, 2, &sec) < 0)
		return -1;
	if (*p == '.') {
		const char *f = ++p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == f || p - f > VS_MAX_TIME_FRACTION_DIGITS)
			return -1;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	/* A leap second (:60) is refused: it exists only at the end of some months, and nothing
	 * vmseal reads carries one. */
	if (mon < 1 || mon > 12 || mday < 1 || mday > days_in_month(year, mon) || hour > 23 ||
	    min > 59 || sec > 59)
		return -1;
	t = days_from_civil(year, mon, mday) * 86400 + hour * 3600 + min * 60 + sec;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	/* 0 is what every reader takes for an absent field ("no limit"): a time at or before the
	 * epoch is refused rather than read as never expiring. */
	if (t <= 0)
		return -1;
	*out = t;
	return 0;
}

void time_format_rfc3339(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int duration_parse(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mult = 1;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'd')
		mult = 86400;
	else if (*end == 'h')
		mult = 3600;
	else if (*end == 'm')
		mult = 60;
	else if (*end == 's' || *end == '\0')
		mult = 1;
	else
		return -1;
	if (*end && end[1])
		return -1;
	if (v <= 0 || v > (long long)(INT64_MAX / 86400 / 2))
		return -1;
	*out = (int64_t)v * mult;
	return 0;
}

int64_t vs_now(void)
{
	return (int64_t)time(NULL);
}

int secret_file_check(const struct stat *st, const char *path, const char *what, struct vs_error *err)
{
	unsigned mode = (unsigned)st->st_mode & 07777;
	int service_key = st->st_uid == 0 && geteuid() != 0 && st->st_gid == getegid() && !(mode & 0037);

	if (st->st_uid != geteuid() && st->st_uid != 0)
		return vs_fail(err, VS_ERR_INPUT, path,
			       "%s owned by uid %u, not by this user (uid %u) or root: refusing it (chown %u %s)",
			       what, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)geteuid(), path);
	if ((mode & 0077) && !service_key)
		return vs_fail(err, VS_ERR_INPUT, path,
			       "%s has mode %04o: readable or writable by group or others, refusing it (chmod 600 %s)",
			       what, mode, path);
	return 0;
}

int file_read_secret(const char *path, size_t max, const char *what, char **out, size_t *len,
		     struct vs_error *err)
{
	struct stat st;
	int fd, r;

	if (vs_open_input(path, VS_INPUT_REG, what, &fd, &st, err) < 0)
		return -1;
	r = secret_file_check(&st, path, what, err);
	if (r == 0)
		r = fd_read_all(fd, path, max, out, len, err);
	close(fd);
	return r;
}

int passphrase_read_file(const char *path, char **out, struct vs_error *err)
{
	char *buf = NULL, *p;
	size_t len = 0, n;

	if (file_read_secret(path, VS_MAX_PASSPHRASE_BYTES, "passphrase file", &buf, &len, err) < 0)
		return -1;
	n = strcspn(buf, "\r\n");
	if (n == 0) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return vs_fail(err, VS_ERR_INPUT, path, "passphrase file is empty");
	}
	p = OPENSSL_secure_malloc(n + 1);
	if (!p) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	}
	memcpy(p, buf, n);
	p[n] = '\0';
	OPENSSL_cleanse(buf, len);
	free(buf);
	*out = p;
	return 0;
}

void passphrase_free(char *p)
{
	if (p)
		OPENSSL_secure_clear_free(p, strlen(p) + 1);
}

void secrets_protect_process(void)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* The secure heap is mlock'ed and guarded; best effort, tools work without it. */
	if (!CRYPTO_secure_malloc_initialized())
		CRYPTO_secure_malloc_init(64 * 1024, 32);
}

#ifdef VMSEAL_TEST_BUILD
int fault_is(const char *point)
{
	const char *f = getenv("VMSEAL_FAULT");

	return f && strcmp(f, point) == 0;
}

void fault_point(const char *point)
{
	if (fault_is(point))
		kill(getpid(), SIGKILL);
}
#endif

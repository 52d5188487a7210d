/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/merkle.c: known answers, parallel file hashing == in-memory, failures. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "common_cunit.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/merkle.h"
#include "lib/merkle_priv.h"
#include "lib/util.h"

#define CHUNK VS_CHUNK_SIZE

static void hex_of(const uint8_t root[32], char out[65])
{
	hex_encode(root, 32, out);
}

static uint8_t *pattern(size_t len, unsigned mul, unsigned add)
{
	uint8_t *p = malloc(len ? len : 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * mul + add);
	return p;
}

/* Writes data to a fresh file in the test dir and returns an fd open for reading. */
static int file_with(const char *name, const uint8_t *data, size_t len, char path[256])
{
	int fd;

	snprintf(path, 256, "%s/%s", test_tmpdir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, data, len) == (ssize_t)len);
	return fd;
}

/* Expected values computed once with tests/merkle_ref.py (hashlib, RFC 6962 as written). */
static void test_known_answers(void)
{
	static const struct {
		size_t len;
		unsigned mul, add;
		uint32_t chunk;
		const char *hex;
	} v[] = {
		{0, 0, 0, CHUNK, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{3 * (size_t)CHUNK + 100, 7, 3, CHUNK,
		 "cb845e6356ca153201de35b1e189da0829d2b601cc50d89271bcf04c11d4c710"},
		{5 * (size_t)CHUNK, 1, 0, CHUNK,
		 "b214a199fb75b2f670c130cefbe6e8d69af1baba4d79580359bb193eb02c8baf"},
		{100, 1, 0, 16, "1a7191b32f19caea20895935ab495ae114508022949e2ed39e6d90cbf33d823e"},
		{7, 1, 0, 1, "3560191803028444b232018ac047fdb561c09c23a7a6876c85e08b5e4d48e9f3"},
	};
	uint8_t root[32];
	char hex[65];

	merkle_root_mem((const uint8_t *)"a", 1, root);
	hex_of(root, hex);
	CU_ASSERT_STRING_EQUAL(hex, "022a6979e6dab7aa5ae4c3e5e45f7e977112a7e63593820dbec1ec738a24f93c");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t *p = pattern(v[i].len, v[i].mul, v[i].add);

		CU_ASSERT_EQUAL(merkle_root_mem_params(p, v[i].len, v[i].chunk, root), 0);
		hex_of(root, hex);
		CU_ASSERT_STRING_EQUAL(hex, v[i].hex);
		if (v[i].chunk == CHUNK) {
			memset(root, 0, sizeof(root));
			merkle_root_mem(p, v[i].len, root);
			hex_of(root, hex);
			CU_ASSERT_STRING_EQUAL(hex, v[i].hex);
		}
		free(p);
	}
}

/* A known answer must stop matching when one byte changes, at either end or in the middle. */
static void test_one_byte_changes_root(void)
{
	size_t len = 3 * (size_t)CHUNK + 100;
	size_t where[] = {0, CHUNK, 2 * (size_t)CHUNK + 7, len - 1};
	uint8_t *p = pattern(len, 7, 3);
	uint8_t root[32];
	char hex[65];

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		p[where[i]] ^= 1;
		merkle_root_mem(p, len, root);
		hex_of(root, hex);
		CU_ASSERT_STRING_NOT_EQUAL(hex,
			"cb845e6356ca153201de35b1e189da0829d2b601cc50d89271bcf04c11d4c710");
		p[where[i]] ^= 1;
	}
	merkle_root_mem(p, len - 1, root);
	hex_of(root, hex);
	CU_ASSERT_STRING_NOT_EQUAL(hex,
		"cb845e6356ca153201de35b1e189da0829d2b601cc50d89271bcf04c11d4c710");
	free(p);
}

static void sha256_of(const uint8_t *p, size_t len, uint8_t out[32])
{
	unsigned n = 0;

	CU_ASSERT_FATAL(EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1);
}

/* The parallel file path must agree with the single-threaded in-memory one for every thread
 * count, read size and leaf count, including more leaves than the reorder window. */
static void test_fd_equals_mem(void)
{
	static const struct {
		size_t len;
		uint32_t chunk, read;
	} shapes[] = {
		{0, 4096, 4096},        {1, 4096, 4096},        {4095, 4096, 1000},
		{4096, 4096, 4096},     {4097, 4096, 4096},     {17 * 4096, 4096, 1000},
		{300 * 4096 + 5, 4096, 4096}, {1000 * 64 + 63, 64, 7}, {2 * (size_t)CHUNK + 1, CHUNK, 1 << 18},
	};
	static const unsigned threads[] = {1, 2, 3, 8};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		uint8_t *p = pattern(shapes[s].len, 131, (unsigned)s);
		uint8_t want[32], want_sha[32];
		char path[256];
		int fd = file_with("shape", p, shapes[s].len, path);
		struct merkle_params params = {shapes[s].chunk, shapes[s].read};

		CU_ASSERT_EQUAL(merkle_root_mem_params(p, shapes[s].len, shapes[s].chunk, want), 0);
		sha256_of(p, shapes[s].len, want_sha);
		for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
			for (int sha = 0; sha < 2; sha++) {
				struct merkle_opts o = {.threads = threads[t], .want_sha256 = sha};
				struct merkle_result r;
				struct vs_error err = {0};
				int rc = merkle_root_fd_params(fd, "shape", &o, &params, &r, &err);

				CU_ASSERT_EQUAL(rc, 0);
				if (rc != 0)
					fprintf(stderr, "shape %zu: %s\n", s, err.reason);
				CU_ASSERT(memcmp(r.root, want, 32) == 0);
				CU_ASSERT_EQUAL(r.size, shapes[s].len);
				if (sha)
					CU_ASSERT(memcmp(r.sha256, want_sha, 32) == 0);
			}
		}
		close(fd);
		free(p);
	}
}

/* The public entry points with the real chunk size, and fd's offset left alone. */
static void test_path_and_fd(void)
{
	size_t len = 3 * (size_t)CHUNK + 100;
	uint8_t *p = pattern(len, 7, 3);
	struct merkle_opts o = {.want_sha256 = 1};
	struct merkle_result r;
	struct vs_error err = {0};
	char path[256], hex[65];
	int fd = file_with("real", p, len, path);

	CU_ASSERT_EQUAL(lseek(fd, 5, SEEK_SET), 5);
	CU_ASSERT_EQUAL(merkle_root_fd(fd, "real", &o, &r, &err), 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 5);
	hex_of(r.root, hex);
	CU_ASSERT_STRING_EQUAL(hex, "cb845e6356ca153201de35b1e189da0829d2b601cc50d89271bcf04c11d4c710");
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(merkle_root_path(path, NULL, &r, &err), 0);
	hex_of(r.root, hex);
	CU_ASSERT_STRING_EQUAL(hex, "cb845e6356ca153201de35b1e189da0829d2b601cc50d89271bcf04c11d4c710");
	CU_ASSERT_EQUAL(r.size, len);
	close(fd);
	free(p);
}

struct change {
	int fd;
	int calls;
	enum { CHANGE_NONE, CHANGE_SIZE, CHANGE_BYTE, CHANGE_BYTE_KEEP_MTIME } what;
	off_t new_size;
	uint64_t last_done;
	int monotonic;
};

static void change_file(uint64_t done, uint64_t total, void *arg)
{
	struct change *c = arg;

	(void)total;
	if (done < c->last_done)
		c->monotonic = 0;
	c->last_done = done;
	if (c->calls++ != 0)
		return;
	if (c->what == CHANGE_SIZE)
		CU_ASSERT_EQUAL(ftruncate(c->fd, c->new_size), 0);
	if (c->what == CHANGE_BYTE)
		CU_ASSERT_EQUAL(pwrite(c->fd, "x", 1, 4096), 1);
	if (c->what == CHANGE_BYTE_KEEP_MTIME) {
		struct stat st;
		struct timespec t[2];

		CU_ASSERT_EQUAL(fstat(c->fd, &st), 0);
		CU_ASSERT_EQUAL(pwrite(c->fd, "x", 1, 4096), 1);
		t[0] = st.st_atim;
		t[1] = st.st_mtim;
		CU_ASSERT_EQUAL(futimens(c->fd, t), 0); /* the writer covers its tracks */
	}
}

/* A file that grows or shrinks while it is hashed must be an error, never a digest. */
static void test_size_change_fails(void)
{
	static const off_t sizes[] = {64 * 4096 + 1, 10 * 4096};
	struct merkle_params params = {4096, 4096};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = 32 * 4096;
		uint8_t *p = pattern(len, 3, 1);
		char path[256];
		int fd = file_with("changing", p, len, path);
		struct change c = {.fd = fd, .what = CHANGE_SIZE, .new_size = sizes[i], .monotonic = 1};
		struct merkle_opts o = {.threads = 2, .progress = change_file, .progress_arg = &c};
		struct merkle_result r;
		struct vs_error err = {0};

		CU_ASSERT_EQUAL(merkle_root_fd_params(fd, "changing", &o, &params, &r, &err), -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_IO);
		CU_ASSERT_STRING_EQUAL(err.object, "changing");
		CU_ASSERT(strstr(err.reason, "while hashing") != NULL);
		CU_ASSERT(c.calls >= 1);
		close(fd);
		free(p);
	}
}

/* Progress goes up, ends at the total, and a file left alone still hashes. */
static void test_progress(void)
{
	size_t len = 50 * 4096 + 3;
	uint8_t *p = pattern(len, 5, 2);
	uint8_t want[32];
	char path[256];
	int fd = file_with("progress", p, len, path);
	struct change c = {.fd = fd, .what = CHANGE_NONE, .monotonic = 1};
	struct merkle_opts o = {.threads = 3, .progress = change_file, .progress_arg = &c};
	struct merkle_params params = {4096, 4096};
	struct merkle_result r;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(merkle_root_fd_params(fd, "progress", &o, &params, &r, &err), 0);
	CU_ASSERT_EQUAL(merkle_root_mem_params(p, len, 4096, want), 0);
	CU_ASSERT(memcmp(r.root, want, 32) == 0);
	CU_ASSERT(c.monotonic);
	CU_ASSERT_EQUAL(c.last_done, len);
	close(fd);
	free(p);
}

/* Same size, one byte rewritten in place: the mtime gives it away. The file's mtime is set to
 * the past first, so the rewrite cannot fall into the same timestamp tick. */
static void test_rewrite_fails(void)
{
	size_t len = 32 * 4096;
	uint8_t *p = pattern(len, 3, 1);
	char path[256];
	int fd = file_with("rewritten", p, len, path);
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	struct change c = {.fd = fd, .what = CHANGE_BYTE, .monotonic = 1};
	struct merkle_opts o = {.threads = 2, .progress = change_file, .progress_arg = &c};
	struct merkle_params params = {4096, 4096};
	struct merkle_result r;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(futimens(fd, old), 0);
	CU_ASSERT_EQUAL(merkle_root_fd_params(fd, "rewritten", &o, &params, &r, &err), -1);
	CU_ASSERT(strstr(err.reason, "modified while hashing") != NULL);
	close(fd);
	free(p);
}

/* #14 item 10: the writer puts the mtime back; size and mtime agree, the ctime does not. */
static void test_rewrite_with_mtime_restored_fails(void)
{
	size_t len = 32 * 4096;
	uint8_t *p = pattern(len, 3, 1);
	char path[256];
	int fd = file_with("rewritten2", p, len, path);
	struct change c = {.fd = fd, .what = CHANGE_BYTE_KEEP_MTIME, .monotonic = 1};
	struct merkle_opts o = {.threads = 2, .progress = change_file, .progress_arg = &c};
	struct merkle_params params = {4096, 4096};
	struct merkle_result r;
	struct vs_error err = {0};

	usleep(20000); /* let the ctime tick past the file's creation */
	CU_ASSERT_EQUAL(merkle_root_fd_params(fd, "rewritten2", &o, &params, &r, &err), -1);
	CU_ASSERT(strstr(err.reason, "modified while hashing (ctime changed)") != NULL);
	close(fd);
	free(p);
}

static void test_not_a_file(void)
{
	struct merkle_result r;
	struct vs_error err = {0};
	int pipefd[2];

	CU_ASSERT_EQUAL(merkle_root_path(test_tmpdir(), NULL, &r, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
	CU_ASSERT(strstr(err.reason, "directory") != NULL);
	CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
	CU_ASSERT_EQUAL(merkle_root_fd(pipefd[0], "pipe", NULL, &r, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.object, "pipe");
	close(pipefd[0]);
	close(pipefd[1]);
	CU_ASSERT_EQUAL(merkle_root_path("/nonexistent/vmseal", NULL, &r, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.object, "/nonexistent/vmseal");
	CU_ASSERT_EQUAL(merkle_root_fd(-1, "bad fd", NULL, &r, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_IO);
}

static void test_bad_params(void)
{
	struct merkle_params zero = {0, 0}, big_read = {4096, 8192};
	struct merkle_result r;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(merkle_root_fd_params(0, "x", NULL, &zero, &r, &err), -1);
	CU_ASSERT_EQUAL(merkle_root_fd_params(0, "x", NULL, &big_read, &r, &err), -1);
	CU_ASSERT_EQUAL(merkle_root_mem_params((const uint8_t *)"", 0, 0, r.root), -1);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"known answers (RFC 6962 reference in python)", test_known_answers},
		{"one changed or missing byte changes the root", test_one_byte_changes_root},
		{"parallel fd == in-memory for all shapes and threads", test_fd_equals_mem},
		{"merkle_root_fd/path with the real chunk size", test_path_and_fd},
		{"size change while hashing fails", test_size_change_fails},
		{"in-place rewrite while hashing fails", test_rewrite_fails},
		{"rewrite with the mtime put back fails (ctime)", test_rewrite_with_mtime_restored_fails},
		{"progress is monotonic and ends at the total", test_progress},
		{"directories, pipes, missing files refused", test_not_a_file},
		{"bad parameters refused", test_bad_params},
		{NULL, NULL},
	};
	return run_suite("merkle", cases);
}

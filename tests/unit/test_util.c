/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/util.c and lib/error.c: encodings, time, atomic writes. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/error.h"
#include "lib/util.h"

static void test_b64_known(void)
{
	static const struct { const char *in, *out; } v[] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = b64_encode((const uint8_t *)v[i].in, strlen(v[i].in));
		uint8_t *d = NULL;
		size_t dl = 0;

		CU_ASSERT_STRING_EQUAL(e, v[i].out);
		CU_ASSERT_EQUAL(b64_decode(e, strlen(e), 0, &d, &dl), 0);
		CU_ASSERT_EQUAL(dl, strlen(v[i].in));
		CU_ASSERT(memcmp(d, v[i].in, dl) == 0);
		free(e);
		free(d);
	}
}

static void test_b64_rejects(void)
{
	static const char *bad[] = {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "=Zm9",
				    "Zm-v", "Zm_v", "Zg==Zg=="};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *d = NULL;
		size_t dl;

		CU_ASSERT_EQUAL_FATAL(b64_decode(bad[i], strlen(bad[i]), 0, &d, &dl), -1);
	}
}

static void test_hex(void)
{
	uint8_t b[3];
	char s[7];

	CU_ASSERT_EQUAL(hex_decode("00ff7A", b, 3), 0);
	hex_encode(b, 3, s);
	CU_ASSERT_STRING_EQUAL(s, "00ff7a");
	CU_ASSERT_EQUAL(hex_decode("00ff7", b, 3), -1);
	CU_ASSERT_EQUAL(hex_decode("00fg7a", b, 3), -1);
	/* vs_is_lower_hex: every byte value at every place of 64 (and of lengths around 16) */
	{
		char id[80];

		for (size_t n = 0; n <= 70; n += (n < 34 ? 1 : 36))
			for (size_t pos = 0; pos < n; pos++)
				for (int c = 0; c < 256; c++) {
					int want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');

					memset(id, 'a', sizeof(id));
					id[pos] = (char)c;
					if (vs_is_lower_hex(id, n) != want)
						CU_FAIL("vs_is_lower_hex disagrees with the rule");
				}
		CU_ASSERT_EQUAL(vs_is_lower_hex("", 0), 1);
		memset(id, '0', sizeof(id));
		CU_ASSERT_EQUAL(vs_is_lower_hex(id, 64), 1);
	}
	/* every byte value, at every place against the sixteen-byte blocks, as snprintf writes it */
	{
		uint8_t in[300];
		char out[601], want[601];

		for (size_t i = 0; i < sizeof(in); i++)
			in[i] = (uint8_t)(i * 7 + 3);
		for (size_t off = 0; off < 20; off++)
			for (size_t n = 0; n + off <= 280; n += 37) {
				hex_encode(in + off, n, out);
				for (size_t i = 0; i < n; i++)
					snprintf(want + 2 * i, 3, "%02x", in[off + i]);
				want[2 * n] = '\0';
				CU_ASSERT_STRING_EQUAL(out, want);
			}
	}
}

/* RFC 3339 strictly (issue #14 item 8): every row must parse to its value, or be refused. */
static void test_time_table(void)
{
	static const struct { const char *in; long long want; } ok[] = {
		{"2026-11-23T12:00:00Z", 1795435200},
		{"2026-11-23T12:00:00.5Z", 1795435200},
		{"2026-11-23T12:00:00.123456789Z", 1795435200},
		{"2026-11-23T13:00:00+01:00", 1795435200},
		{"2026-11-23T06:30:00-05:30", 1795435200},
		{"2026-11-24T00:00:00+12:00", 1795435200},
		{"2026-11-23T12:00:00-00:00", 1795435200},
		{"2028-02-29T00:00:00Z", 1835395200},     /* leap year */
		{"2000-02-29T00:00:00Z", 951782400},      /* divisible by 400: leap */
		{"1970-01-01T00:00:01Z", 1},
		{"9999-12-31T23:59:59Z", 253402300799LL},
		{"2026-12-31T23:59:59Z", 1798761599},
	};
	static const char *const bad[] = {
		"2027-02-29T00:00:00Z",       /* not a leap year */
		"2100-02-29T00:00:00Z",       /* divisible by 100, not 400 */
		"2026-02-30T12:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
		"2020-01-01T-1:00:00Z",       /* a sign where two digits belong */
		"2020-01-01T+1:00:00Z", "2020-01-01T 1:00:00Z", "2020-01-01T01:-1:00Z", "2020-01-01T01:00:-1Z",
		"2020-1-01T00:00:00Z", "202-01-01T00:00:00Z", "+2020-01-01T00:00:00Z", " 2020-01-01T00:00:00Z",
		"2026-11-23T24:00:00Z", "2026-11-23T23:60:00Z", "2026-11-23T23:59:60Z",
		"2026-11-23 12:00:00Z", "2026-11-23t12:00:00Z", "2026-11-23T12:00:00z", "2026-11-23T12:00:00",
		"2026-11-23T12:00Z", "2026-11-23T12:00:00.Z", "2026-11-23T12:00:00.1234567890Z",
		"2026-11-23T12:00:00+0100", "2026-11-23T12:00:00+01", "2026-11-23T12:00:00+24:00",
		"2026-11-23T12:00:00+01:60", "2026-11-23T12:00:00Z ", "2026-11-23T12:00:00ZZ",
		"2026-11-23T12:00:00+01:00Z", "2026-11-23", "",
		"1970-01-01T00:00:00Z",       /* 0 would read as "no limit" */
		"1970-01-01T00:00:00.9Z", "1970-01-01T01:00:00+01:00", "1969-12-31T23:59:59Z",
		"0000-01-01T00:00:00Z",
	};
	int64_t t;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t = -1;
		if (time_parse_rfc3339(ok[i].in, &t) != 0 || t != ok[i].want)
			fprintf(stderr, "\n  %s -> %lld, want %lld", ok[i].in, (long long)t, ok[i].want);
		CU_ASSERT_EQUAL(time_parse_rfc3339(ok[i].in, &t), 0);
		CU_ASSERT_EQUAL(t, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (time_parse_rfc3339(bad[i], &t) == 0)
			fprintf(stderr, "\n  \"%s\" accepted as %lld", bad[i], (long long)t);
		CU_ASSERT_EQUAL(time_parse_rfc3339(bad[i], &t), -1);
	}
	CU_ASSERT_EQUAL(time_parse_rfc3339(NULL, &t), -1);
}

static void test_time(void)
{
	int64_t t;
	char buf[32];

	CU_ASSERT_EQUAL(time_parse_rfc3339("2026-11-23T12:00:00Z", &t), 0);
	CU_ASSERT_EQUAL(t, 1795435200);
	time_format_rfc3339(t, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2026-11-23T12:00:00Z");
	CU_ASSERT_EQUAL(time_parse_rfc3339("", &t), -1);
	CU_ASSERT_EQUAL(duration_parse("365d", &t), 0);
	CU_ASSERT_EQUAL(t, 365 * 86400);
	CU_ASSERT_EQUAL(duration_parse("90", &t), 0);
	CU_ASSERT_EQUAL(t, 90);
	CU_ASSERT_EQUAL(duration_parse("-1d", &t), -1);
	CU_ASSERT_EQUAL(duration_parse("1y", &t), -1);
	CU_ASSERT_EQUAL(duration_parse("1dd", &t), -1);
}

static void test_atomic_write_never_overwrites(void)
{
	char path[256];
	struct vs_error err = {0};
	struct stat st;
	char *data = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/f", test_tmpdir());
	CU_ASSERT_EQUAL(file_write_atomic(path, "one", 3, 0600, 0, &err), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(file_write_atomic(path, "two", 3, 0600, 0, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "refusing to overwrite"));
	CU_ASSERT_EQUAL(file_read_all(path, 100, &data, &len, &err), 0);
	CU_ASSERT_STRING_EQUAL(data, "one");
	free(data);
	CU_ASSERT_EQUAL(file_write_atomic(path, "three", 5, 0600, 1, &err), 0);
	CU_ASSERT_EQUAL(file_read_all(path, 100, &data, &len, &err), 0);
	CU_ASSERT_STRING_EQUAL(data, "three");
	free(data);
	CU_ASSERT_EQUAL(file_read_all(path, 4, &data, &len, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
}

/* The replacing writers that skip a flush (the started-check record's, the audit head's):
 * replace in place with the mode asked, leave no temp, refuse a missing directory. */
static void check_replace_writer(const char *sub, int (*wr)(const char *, const void *, size_t, unsigned,
							   struct vs_error *))
{
	char dir[256], path[300];
	struct vs_error err = {0};
	struct stat st;
	char *data = NULL;
	size_t len;
	DIR *d;
	struct dirent *e;
	int entries = 0;

	snprintf(dir, sizeof(dir), "%s/%s", test_tmpdir(), sub);
	snprintf(path, sizeof(path), "%s/rec", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL(wr(path, "one", 3, 0600, &err), 0);
	CU_ASSERT_EQUAL(wr(path, "second", 6, 0600, &err), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(file_read_all(path, 100, &data, &len, &err), 0);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_STRING_EQUAL(data, "second");
	free(data);
	d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)))
		entries += e->d_name[0] != '.';
	closedir(d);
	CU_ASSERT_EQUAL(entries, 1);
	snprintf(path, sizeof(path), "%s/no-such-dir/rec", dir);
	CU_ASSERT_EQUAL(wr(path, "x", 1, 0600, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_IO);
}

static void test_replace_until_reboot(void)
{
	check_replace_writer("rur", file_replace_until_reboot);
}

static void test_replace_may_lag(void)
{
	check_replace_writer("rml", file_replace_may_lag);
}

/* A FIFO without a writer would block open(); one with a writer would block read(). */
static void test_open_input_types(void)
{
	char dir[256], reg[300], fifo[300], lnk[300];
	struct vs_error err = {0};
	struct stat st;
	char *data = NULL;
	int fd = 0, wfd, fl;

	snprintf(dir, sizeof(dir), "%s/oi", test_tmpdir());
	snprintf(reg, sizeof(reg), "%s/reg", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(lnk, sizeof(lnk), "%s/lnk", dir);
	CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL(file_write_atomic(reg, "x", 1, 0600, 0, &err), 0);
	CU_ASSERT_EQUAL(mkfifo(fifo, 0600), 0);
	CU_ASSERT_EQUAL(symlink(reg, lnk), 0);

	CU_ASSERT_EQUAL(vs_open_input(reg, VS_INPUT_REG, NULL, &fd, &st, &err), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	fl = fcntl(fd, F_GETFL);
	CU_ASSERT(fl >= 0 && !(fl & O_NONBLOCK));
	CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	CU_ASSERT_EQUAL(vs_open_input(fifo, VS_INPUT_REG | VS_INPUT_BLK, NULL, &fd, NULL, &err), -1);
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
	CU_ASSERT_STRING_EQUAL(err.object, fifo);
	CU_ASSERT_STRING_EQUAL(err.reason, "is a FIFO, not a regular file or block device");
	wfd = open(fifo, O_RDWR); /* a writer attached: read() would now block */
	CU_ASSERT(wfd >= 0);
	CU_ASSERT_EQUAL(file_read_all(fifo, 100, &data, NULL, &err), -1);
	CU_ASSERT_PTR_NULL(data);
	close(wfd);

	CU_ASSERT_EQUAL(vs_open_input(dir, VS_INPUT_REG, "policy", &fd, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.reason, "policy is a directory, not a regular file");
	CU_ASSERT_EQUAL(vs_open_input(dir, VS_INPUT_DIR, NULL, &fd, NULL, &err), 0);
	close(fd);
	CU_ASSERT_EQUAL(vs_open_input("/dev/null", VS_INPUT_REG | VS_INPUT_BLK, NULL, &fd, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.reason, "is a character device, not a regular file or block device");
	CU_ASSERT_EQUAL(vs_check_input(lnk, VS_INPUT_REG, NULL, &err), 0);
	CU_ASSERT_EQUAL(vs_check_input(lnk, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_IO);
}

static void test_error_sanitizes(void)
{
	struct vs_error err = {0};

	vs_fail(&err, VS_ERR_DENIED, "a\nb", "bad \"%s\"", "x\ry");
	CU_ASSERT_STRING_EQUAL(err.object, "a?b");
	CU_ASSERT_STRING_EQUAL(err.reason, "bad \"x?y\"");
	CU_ASSERT_EQUAL(vs_error_exit_code(&err), 1);
	err.kind = VS_ERR_IO;
	CU_ASSERT_EQUAL(vs_error_exit_code(&err), 2);
}

/* #14 item 12: numbers on a command line are digits and nothing else. */
static void test_parse_uint_strict(void)
{
	static const struct { const char *in; int ok; uint64_t want; } cases[] = {
		{"1", 1, 1}, {"0", 1, 0}, {"16", 1, 16}, {"007", 1, 7},
		{"18446744073709551615", 1, UINT64_MAX},
		{"18446744073709551616", 0, 0}, {"99999999999999999999999", 0, 0},
		{"1x", 0, 0}, {" 1", 0, 0}, {"1 ", 0, 0}, {"+1", 0, 0}, {"-1", 0, 0}, {"0x1", 0, 0},
		{"", 0, 0}, {"1e3", 0, 0}, {"١", 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;

		CU_ASSERT_EQUAL(parse_uint_strict(cases[i].in, 0, UINT64_MAX, &v), cases[i].ok ? 0 : -1);
		CU_ASSERT_EQUAL(v, cases[i].ok ? cases[i].want : 12345);
	}
	{
		uint64_t v;

		CU_ASSERT_EQUAL(parse_uint_strict("0", 1, 16, &v), -1);
		CU_ASSERT_EQUAL(parse_uint_strict("17", 1, 16, &v), -1);
		CU_ASSERT_EQUAL(parse_uint_strict("16", 1, 16, &v), 0);
		CU_ASSERT_EQUAL(parse_uint_strict(NULL, 0, 1, &v), -1);
	}
}

/* #14 item 10: a secret others can read, write, or own is refused, with the command to run. */
static void test_secret_file_modes(void)
{
	static const struct { unsigned mode; int uid_other, ok; const char *want; } cases[] = {
		{0600, 0, 1, NULL},
		{0400, 0, 1, NULL},
		{0644, 0, 0, "mode 0644: readable or writable by group or others, refusing it (chmod 600 "},
		{0640, 0, 0, "mode 0640"},
		{0620, 0, 0, "mode 0620"},
		{0604, 0, 0, "mode 0604"},
		{0602, 0, 0, "mode 0602"},
		{0600, 1, 0, "owned by uid 4242, not by this user"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stat st = {.st_mode = S_IFREG | cases[i].mode, .st_uid = geteuid(), .st_gid = getegid()};
		struct vs_error err = {0};

		if (cases[i].uid_other)
			st.st_uid = 4242;
		CU_ASSERT_EQUAL(secret_file_check(&st, "k.key", "private key", &err), cases[i].ok ? 0 : -1);
		if (cases[i].want)
			CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, cases[i].want));
	}
	{
		char path[512], *buf = NULL;
		size_t len = 0;
		struct vs_error err = {0};
		int fd;

		snprintf(path, sizeof(path), "%s/pw", test_tmpdir());
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CU_ASSERT_FATAL(fd >= 0 && write(fd, "secret\n", 7) == 7);
		close(fd);
		chmod(path, 0644);
		CU_ASSERT_EQUAL(passphrase_read_file(path, &buf, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "chmod 600"));
		chmod(path, 0600);
		CU_ASSERT_EQUAL(file_read_secret(path, 64, "passphrase file", &buf, &len, &err), 0);
		free(buf);
	}
}

static void test_path_dir(void)
{
	static const struct { const char *in, *out; } v[] = {
		{"/a/b/c", "/a/b"}, {"/a", "/"}, {"a", "."}, {"a/b", "a"}, {"/", "/"}, {"", "."},
		{"a/b/", "a"},
	};
	char out[16], tiny[4];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CU_ASSERT_EQUAL(vs_path_dir(v[i].in, out, sizeof(out)), 0);
		CU_ASSERT_STRING_EQUAL(out, v[i].out);
	}
	CU_ASSERT_EQUAL(vs_path_dir("/abcd/e", tiny, sizeof(tiny)), -1); /* does not fit: refused */
	CU_ASSERT_EQUAL(vs_path_dir("a", tiny, sizeof(tiny)), 0);
	CU_ASSERT_STRING_EQUAL(tiny, ".");
}

/* In a child (the test's own descriptors stay): fds 3, 40 and 200 open, close_from(10); exit 0
 * when 3 is still open and 40 and 200 are closed. */
static int close_from_in_child(int (*close_from)(int))
{
	int st, fd3;
	pid_t pid = fork();

	if (pid == 0) {
		fd3 = open("/dev/null", O_RDONLY);
		if (fd3 < 0 || dup2(fd3, 40) != 40 || dup2(fd3, 200) != 200 || close_from(10) != 0)
			_exit(3);
		_exit(fcntl(fd3, F_GETFD) >= 0 && fd3 < 10 && fcntl(40, F_GETFD) < 0 && fcntl(200, F_GETFD) < 0
			      ? 0
			      : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void test_close_from(void)
{
	CU_ASSERT_EQUAL(close_from_in_child(fd_close_from), 0);
	CU_ASSERT_EQUAL(close_from_in_child(fd_close_from_listing), 0);
	CU_ASSERT_EQUAL(fd_close_from(-1), -1);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"base64 known answers", test_b64_known},
		{"base64 rejects non-canonical input", test_b64_rejects},
		{"hex", test_hex},
		{"RFC 3339 time and durations", test_time},
		{"RFC 3339 strictly: calendar, offsets, fractions, refusals", test_time_table},
		{"atomic write never overwrites", test_atomic_write_never_overwrites},
		{"replace until reboot: in place, mode kept, no temp left", test_replace_until_reboot},
		{"replace, name may lag: in place, mode kept, no temp left", test_replace_may_lag},
		{"open input refuses FIFOs, devices, directories", test_open_input_types},
		{"errors strip control characters", test_error_sanitizes},
		{"secret files: modes and owners as ssh has them", test_secret_file_modes},
		{"strict decimal numbers", test_parse_uint_strict},
		{"a path's directory, as dirname names it", test_path_dir},
		{"close from a descriptor up: close_range, and /proc/self/fd where it is missing", test_close_from},
		{NULL, NULL},
	};
	return run_suite("util", cases);
}

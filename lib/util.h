/* SPDX-License-Identifier: Apache-2.0 */
/* Small shared helpers: bounded file reads, atomic writes, hex/base64, RFC 3339 time. */
#ifndef VMSEAL_UTIL_H
#define VMSEAL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "limits.h"

#define VS_PATH_TMP_MAX (VS_MAX_PATH_BYTES + 64)

/* File types vs_open_input may accept (bit set). */
enum vs_input_type {
	VS_INPUT_REG = 1, /* regular file */
	VS_INPUT_BLK = 2, /* block device */
	VS_INPUT_DIR = 4, /* directory */
	VS_INPUT_NOFOLLOW = 8, /* flag: O_NOFOLLOW, a symbolic link is refused */
};

/* Opens path for reading without ever blocking (O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC) and
 * fstats it before any read: anything but the allowed types (a FIFO, socket, character device or
 * directory where a file is expected) is refused at once, VS_ERR_INPUT, naming path and type.
 * O_NONBLOCK is then cleared. *fd is -1 on failure; st (may be NULL) gets the fstat. name, if
 * non-NULL, is what the file is ("attestation") and prefixes the reason. */
int vs_open_input(const char *path, unsigned allowed, const char *name, int *fd, struct stat *st,
		  struct vs_error *err);

/* vs_open_input then close: for a file another library opens (libcurl's CA and client
 * certificate), so that a FIFO is refused before it can block that library's open. */
int vs_check_input(const char *path, unsigned allowed, const char *name, struct vs_error *err);

/* "a regular file", "a FIFO", "a socket", "a character device"... for messages. */
const char *vs_file_type_name(mode_t mode);

/* 1 when the n bytes at s are all lowercase hex digits (no terminator needed; n 0: 1). A C
 * string of exactly n of them: strnlen(s, n + 1) == n && vs_is_lower_hex(s, n). */
int vs_is_lower_hex(const char *s, size_t n);

/* t in nanoseconds (saturated at INT64_MIN/MAX, some 292 years from 1970). */
int64_t vs_timespec_ns(const struct timespec *t);

/* 1 when a and b are the same version of the same file: device, inode, size, mtime and ctime
 * (to the nanosecond) equal. */
int vs_stat_same_version(const struct stat *a, const struct stat *b);

/* Reads a whole regular file of at most max bytes into a NUL-terminated malloc'd buffer.
 * A larger file is refused (VS_ERR_INPUT), never truncated; so is anything but a regular file
 * (opened with vs_open_input: a FIFO never blocks). */
int file_read_all(const char *path, size_t max, char **out, size_t *len, struct vs_error *err);

/* Like file_read_all on an open fd (not closed). */
/* Fills the pages of a fresh allocation of len bytes at once (MADV_POPULATE_WRITE) instead of
 * one fault per page as they are first written: for buffers of VS_PREFAULT_MIN_BYTES or more
 * (a policy of thousands of keys). A no-op where the kernel lacks it. */
#define VS_PREFAULT_MIN_BYTES (256u << 10)
void vs_prefault(void *p, size_t len);

/* path's directory as dirname(3) names it ("." for a bare name, "/" for /name), into out of
 * cap bytes; -1 (ENAMETOOLONG) when it does not fit. */
int vs_path_dir(const char *path, char *out, size_t cap);
/* fsync(2) of path's directory (a name made or removed there survives a crash): 0, or -1. */
int vs_fsync_dir_of(const char *path);

/* Closes every descriptor from lowfd up (a server's start: nothing its starter left open may
 * reach what it runs). close_range(2) where the kernel has it (Linux 5.9); else, or where it
 * fails, each descriptor /proc/self/fd lists, else every number below RLIMIT_NOFILE. 0 when
 * none is left open, else -1 with errno. fd_close_from_listing is the fallback alone (tests). */
int fd_close_from(int lowfd);
int fd_close_from_listing(int lowfd);

int fd_read_all(int fd, const char *name, size_t max, char **out, size_t *len, struct vs_error *err);

/* pread of exactly len bytes at off (EINTR and short reads retried): 1, or 0 when the file ends
 * first or a read fails. */
int fd_pread_full(int fd, void *buf, size_t len, off_t off);

/* Writes data to path atomically: an unnamed O_TMPFILE in the same directory (else a named temp
 * file, O_CREAT|O_EXCL|O_NOFOLLOW) with the given mode, fsync, then rename (replace != 0) or link+unlink (replace == 0: an existing path is
 * never overwritten), then fsync of the directory. A crash leaves the old state or the new one. */
int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode, int replace,
		      struct vs_error *err);

/* Like file_write_atomic with replace, without the directory's fsync: the new file's content is
 * durable before its name points to it, but the rename itself may be lost in a crash, which
 * then leaves the previous file, whole. For state that may fall behind but must never be
 * partial (the hook's audit head: an older head names an entry the durable log still holds);
 * one disk flush per write instead of two. */
int file_replace_may_lag(const char *path, const void *data, size_t len, unsigned mode,
			 struct vs_error *err);

/* Like file_write_atomic with replace, without either fsync: readers in this boot see the old
 * file or the new one, never a mix; after a crash the file may also be empty or partial. Only
 * for state that lives no longer than what it describes (the hook's started-check record: a
 * crash ends the QEMU it is about, and the next start writes it afresh), read by a reader
 * that refuses what it cannot verify. */
int file_replace_until_reboot(const char *path, const void *data, size_t len, unsigned mode,
			      struct vs_error *err);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);

/* Strict lowercase/uppercase hex decode of exactly 2n chars into n bytes. */
int hex_decode(const char *in, uint8_t *out, size_t n);

/* Strict decimal: one or more ASCII digits and nothing else (no sign, space, "0x", suffix such
 * as "1x"), no overflow, within [min, max]. 0, or -1 leaving *out untouched. Every number on a
 * command line goes through this. */
int parse_uint_strict(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Standard base64 with padding. Returns a malloc'd NUL-terminated string or NULL. */
char *b64_encode(const uint8_t *in, size_t n);

/* Strict standard base64 decode (padding required, no whitespace, canonical trailing bits);
 * also accepts the URL-safe alphabet when urlsafe != 0. Returns 0 and a malloc'd buffer. */
int b64_decode(const char *in, size_t inlen, int urlsafe, uint8_t **out, size_t *outlen);

/* Parses an RFC 3339 date-time, strictly: "YYYY-MM-DDTHH:MM:SS" with exactly two digits per field
 * (no sign, no space), a real calendar date (leap years), hours 00-23, minutes and seconds 00-59
 * (no leap second), an optional fraction of 1..VS_MAX_TIME_FRACTION_DIGITS digits (dropped), then
 * "Z" or a "+hh:mm"/"-hh:mm" offset. The result is seconds since the epoch, UTC, and must be after
 * 1970-01-01T00:00:00Z: readers take 0 for an absent field, so that time is refused, never read
 * as "no limit". -1 for anything else. */
int time_parse_rfc3339(const char *s, int64_t *out);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void time_format_rfc3339(int64_t t, char *out, size_t outlen);

/* Parses a duration like "365d", "12h", "30m", "45s" or plain seconds. */
int duration_parse(const char *s, int64_t *out);

/* Current time in seconds since the epoch (the system clock; tests move it with libfaketime). */
int64_t vs_now(void);

/* Reads a passphrase file: first line, without the newline; refuses an empty one. The result
 * is allocated with OPENSSL_secure_malloc when available; free with passphrase_free(). */
int passphrase_read_file(const char *path, char **out, struct vs_error *err);

/* The rule for files holding secrets (private keys, passphrases, PINs), as ssh has it: owned
 * by the effective user or root, never readable or writable by others, never writable by the
 * group; group-readable only for a root-owned file whose group is the process's own (a
 * service's key, root:vmseal 0640). Otherwise VS_ERR_INPUT naming the mode or owner and the
 * chmod/chown to run. what names the file ("private key"). */
int secret_file_check(const struct stat *st, const char *path, const char *what, struct vs_error *err);

/* file_read_all for a secret: opened without blocking (vs_open_input), checked with
 * secret_file_check on the opened file, then read. */
int file_read_secret(const char *path, size_t max, const char *what, char **out, size_t *len,
		     struct vs_error *err);
void passphrase_free(char *p);

/* Marks the process non-dumpable and locks its memory where allowed, for tools holding keys. */
void secrets_protect_process(void);

/* Fault injection for crash tests, compiled only into the test build (make's $(BUILD)/testbin,
 * -DVMSEAL_TEST_BUILD): when VMSEAL_FAULT equals point, the process kills itself with SIGKILL
 * right there. In release binaries it is nothing at all: no getenv, not even the point's name. */
#ifdef VMSEAL_TEST_BUILD
void fault_point(const char *point);
/* Test build only: 1 when VMSEAL_FAULT equals point. */
int fault_is(const char *point);
#else
#define fault_point(point) ((void)0)
#define fault_is(point) 0
#endif

#endif

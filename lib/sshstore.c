/* SPDX-License-Identifier: Apache-2.0 */
/* The SSH CA's serial counter and revocations: local files or Redis. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "limits.h"
#include "replay_redis.h"
#include "sshkrl.h"
#include "sshstore.h"
#include "util.h"

#define SERIAL_FILE "serial"
#define KRL_FILE "revoked.krl"

struct ssh_store {
	struct sshkey *ca;
	pthread_mutex_t lock;
	uint64_t next, reserved; /* next serial to give; highest one reserved */
	/* files */
	char serial_path[VS_MAX_PATH_BYTES], krl_path[VS_MAX_PATH_BYTES];
	struct sshkrl krl;
	/* redis */
	struct replay_store *redis;
	char prefix[96]; /* "vmseal:ssh:HEX:" */
};

static uint64_t clock_base(void)
{
	return (uint64_t)vs_now() << 16;
}

static struct ssh_store *store_new(const struct sshkey *ca, struct vs_error *err)
{
	struct ssh_store *s = calloc(1, sizeof(*s));

	if (!s) {
		vs_fail(err, VS_ERR_INTERNAL, "SSH CA state", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (sshkey_from_blob(ca->blob, ca->bloblen, "SSH CA", &s->ca, err) < 0) {
		ssh_store_free(s);
		return NULL;
	}
	return s;
}

void ssh_store_free(struct ssh_store *s)
{
	if (!s)
		return;
	sshkey_free(s->ca);
	sshkrl_clear(&s->krl);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int serial_read(const char *path, uint64_t *out, struct vs_error *err)
{
	char *buf = NULL, *end;
	size_t len = 0;
	int r = -1;

	if (file_read_all(path, 32, &buf, &len, err) < 0)
		return -1;
	errno = 0;
	if (len < 2 || buf[len - 1] != '\n' || strspn(buf, "0123456789") != len - 1 ||
	    (*out = strtoull(buf, &end, 10), errno) || *out >= UINT64_MAX / 2)
		vs_fail(err, VS_ERR_INPUT, path, "not one decimal serial and a newline");
	else
		r = 0;
	free(buf);
	return r;
}

int ssh_store_open_dir(const char *dir, const struct sshkey *ca, struct ssh_store **out,
		       struct vs_error *err)
{
	struct ssh_store *s;
	struct stat st;
	uint64_t high;
	char *buf = NULL;
	size_t len = 0;

	*out = NULL;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return vs_fail(err, VS_ERR_IO, dir, "SSH CA state directory is not a directory");
	if (!(s = store_new(ca, err)))
		return -1;
	snprintf(s->serial_path, sizeof(s->serial_path), "%s/%s", dir, SERIAL_FILE);
	snprintf(s->krl_path, sizeof(s->krl_path), "%s/%s", dir, KRL_FILE);
	high = clock_base();
	if (access(s->serial_path, F_OK) == 0 && serial_read(s->serial_path, &high, err) < 0)
		goto fail;
	s->next = high + 1;
	s->reserved = high;
	if (access(s->krl_path, F_OK) == 0) {
		if (file_read_all(s->krl_path, VS_MAX_SSH_BLOB_BYTES, &buf, &len, err) < 0 ||
		    sshkrl_parse((const uint8_t *)buf, len, s->krl_path, &s->krl, err) < 0)
			goto fail;
		if (s->krl.ca && !sshkey_equal(s->krl.ca, ca)) {
			vs_fail(err, VS_ERR_INPUT, s->krl_path, "revokes certificates of another CA");
			goto fail;
		}
	}
	if (!s->krl.ca && sshkey_from_blob(ca->blob, ca->bloblen, "SSH CA", &s->krl.ca, err) < 0)
		goto fail;
	free(buf);
	*out = s;
	return 0;
fail:
	free(buf);
	ssh_store_free(s);
	return -1;
}

int ssh_store_open_redis(struct replay_store *redis, const struct sshkey *ca,
			 struct ssh_store **out, struct vs_error *err)
{
	struct ssh_store *s;
	uint8_t h[32];
	char hex[VS_SHA256_HEX_BYTES];

	*out = NULL;
	if (!(s = store_new(ca, err)))
		return -1;
	SHA256(ca->blob, ca->bloblen, h);
	hex_encode(h, sizeof(h), hex);
	snprintf(s->prefix, sizeof(s->prefix), "vmseal:ssh:%s:", hex);
	s->redis = redis;
	*out = s;
	return 0;
}

static int redis_fail(struct vs_error *err, const char *what)
{
	return vs_fail(err, VS_ERR_IO, "Redis", "%s: unreachable or refused", what);
}

/* A block of serials from the shared counter, seeded from the clock when it is new. */
static int redis_reserve(struct ssh_store *s, struct vs_error *err)
{
	redisReply *r = replay_redis_command(s->redis, "SET %sserial %" PRIu64 " NX", s->prefix,
					     clock_base());

	if (!r)
		return redis_fail(err, "SET serial");
	freeReplyObject(r);
	r = replay_redis_command(s->redis, "INCRBY %sserial %d", s->prefix, SSH_SERIAL_BLOCK);
	if (!r || r->type != REDIS_REPLY_INTEGER || r->integer < SSH_SERIAL_BLOCK) {
		if (r)
			freeReplyObject(r);
		return redis_fail(err, "INCRBY serial");
	}
	s->reserved = (uint64_t)r->integer;
	s->next = s->reserved - SSH_SERIAL_BLOCK + 1;
	freeReplyObject(r);
	return 0;
}

int ssh_store_next_serial(struct ssh_store *s, uint64_t *out, struct vs_error *err)
{
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (s->next > s->reserved || s->next == 0) {
		if (s->redis) {
			r = redis_reserve(s, err);
		} else {
			char buf[32];
			int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", s->next + SSH_SERIAL_BLOCK - 1);

			r = file_write_atomic(s->serial_path, buf, (size_t)n, 0600, 1, err);
			if (r == 0)
				s->reserved = s->next + SSH_SERIAL_BLOCK - 1;
		}
	}
	if (r == 0)
		*out = s->next++;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void member_of_fp(const uint8_t fp[static 32], char out[static 67])
{
	out[0] = 'f';
	out[1] = ':';
	hex_encode(fp, 32, out + 2);
}

int ssh_store_key_revoked(struct ssh_store *s, const struct sshkey *key, struct vs_error *err)
{
	uint8_t h[32];
	char m[67];
	redisReply *r;
	int v;

	if (!s->redis) {
		pthread_mutex_lock(&s->lock);
		v = sshkrl_key_revoked(&s->krl, key);
		pthread_mutex_unlock(&s->lock);
		return v;
	}
	SHA256(key->blob, key->bloblen, h);
	member_of_fp(h, m);
	r = replay_redis_command(s->redis, "SISMEMBER %srevoked %s", s->prefix, m);
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		if (r)
			freeReplyObject(r);
		return redis_fail(err, "SISMEMBER revoked");
	}
	v = r->integer == 1;
	freeReplyObject(r);
	return v;
}

/* Writes the KRL durably; on failure reads the file's state back (nothing changed). */
static int file_revoke(struct ssh_store *s, int by_serial, uint64_t serial, const uint8_t fp[32],
		       struct vs_error *err)
{
	int added = by_serial ? sshkrl_add_serial(&s->krl, serial, err)
			      : sshkrl_add_fingerprint(&s->krl, fp, err);
	uint8_t *d = NULL;
	size_t n = 0;
	int w;

	if (added != 0)
		return added;
	s->krl.version++;
	s->krl.generated = (uint64_t)vs_now();
	w = sshkrl_encode(&s->krl, NULL, &d, &n, err);
	if (w == 0)
		w = file_write_atomic(s->krl_path, d, n, 0644, 1, err);
	free(d);
	if (w < 0) {
		struct sshkrl back = {0};
		char *buf = NULL;
		size_t len = 0;

		if (file_read_all(s->krl_path, VS_MAX_SSH_BLOB_BYTES, &buf, &len, NULL) == 0 &&
		    sshkrl_parse((const uint8_t *)buf, len, "KRL", &back, NULL) == 0) {
			sshkrl_clear(&s->krl);
			s->krl = back;
		} else {
			/* no file yet: take the entry out again */
			struct sshkrl empty = {.ca = s->krl.ca, .version = s->krl.version - 1};

			s->krl.ca = NULL;
			sshkrl_clear(&s->krl);
			s->krl = empty;
		}
		free(buf);
		return -1;
	}
	return 0;
}

int ssh_store_revoke(struct ssh_store *s, int by_serial, uint64_t serial, const uint8_t fp[static 32],
		     uint64_t *version, struct vs_error *err)
{
	char m[67];
	redisReply *r;
	int added;

	if (!s->redis) {
		pthread_mutex_lock(&s->lock);
		added = file_revoke(s, by_serial, serial, fp, err);
		*version = s->krl.version;
		pthread_mutex_unlock(&s->lock);
		return added;
	}
	if (by_serial)
		snprintf(m, sizeof(m), "s:%" PRIu64, serial);
	else
		member_of_fp(fp, m);
	r = replay_redis_command(s->redis, "SADD %srevoked %s", s->prefix, m);
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		if (r)
			freeReplyObject(r);
		return redis_fail(err, "SADD revoked");
	}
	added = r->integer == 1 ? 0 : 1;
	freeReplyObject(r);
	r = replay_redis_command(s->redis, added == 0 ? "INCR %sversion" : "INCRBY %sversion 0",
				 s->prefix);
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		if (r)
			freeReplyObject(r);
		return redis_fail(err, "INCR version");
	}
	*version = (uint64_t)r->integer;
	freeReplyObject(r);
	return added;
}

/* The revocations in Redis as a KRL: every member must be one vmseal writes. */
static int redis_krl(struct ssh_store *s, struct sshkrl *k, struct vs_error *err)
{
	redisReply *r = replay_redis_command(s->redis, "SMEMBERS %srevoked", s->prefix);
	int rc = -1;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		if (r)
			freeReplyObject(r);
		return redis_fail(err, "SMEMBERS revoked");
	}
	if (r->elements > VS_MAX_SSH_REVOKED) {
		vs_fail(err, VS_ERR_INPUT, "Redis", "more than %u revocations", VS_MAX_SSH_REVOKED);
		goto out;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		uint8_t fp[32];
		char *end;
		uint64_t v;

		if (e->type != REDIS_REPLY_STRING)
			goto bad;
		if (e->len == 66 && !strncmp(e->str, "f:", 2) && hex_decode(e->str + 2, fp, 32) == 0) {
			if (sshkrl_add_fingerprint(k, fp, err) < 0)
				goto out;
			continue;
		}
		errno = 0;
		if (e->len < 3 || e->len > 22 || strncmp(e->str, "s:", 2) ||
		    strspn(e->str + 2, "0123456789") != e->len - 2 ||
		    (v = strtoull(e->str + 2, &end, 10), errno))
			goto bad;
		if (sshkrl_add_serial(k, v, err) < 0)
			goto out;
	}
	freeReplyObject(r);
	r = replay_redis_command(s->redis, "GET %sversion", s->prefix);
	if (r && r->type == REDIS_REPLY_STRING)
		k->version = strtoull(r->str, NULL, 10);
	rc = 0;
	goto out;
bad:
	vs_fail(err, VS_ERR_INPUT, "Redis", "a revocation that is not s:SERIAL or f:SHA256");
out:
	if (r)
		freeReplyObject(r);
	return rc;
}

int ssh_store_krl(struct ssh_store *s, int64_t now, uint8_t **out, size_t *len, uint64_t *version,
		  size_t *nserials, size_t *nkeys, struct vs_error *err)
{
	struct sshkrl k = {0};
	int r;

	if (!s->redis) {
		pthread_mutex_lock(&s->lock);
		s->krl.generated = (uint64_t)now;
		r = sshkrl_encode(&s->krl, NULL, out, len, err);
		*version = s->krl.version;
		*nserials = s->krl.nserials;
		*nkeys = s->krl.nfps;
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	if (redis_krl(s, &k, err) < 0) {
		sshkrl_clear(&k);
		return -1;
	}
	k.ca = s->ca;
	k.generated = (uint64_t)now;
	r = sshkrl_encode(&k, NULL, out, len, err);
	*version = k.version;
	*nserials = k.nserials;
	*nkeys = k.nfps;
	k.ca = NULL;
	sshkrl_clear(&k);
	return r;
}

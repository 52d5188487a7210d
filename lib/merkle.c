/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-merkle-sha256: RFC 6962 Merkle Tree Hash of an image, chunks hashed in parallel. */
#include "merkle.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "limits.h"
#include "merkle_priv.h"
#include "util.h"

/*
 * How the work is split: worker threads claim chunk numbers from an atomic counter, read each
 * chunk with pread into their own page-aligned buffer (a piece at a time, hashing each piece while
 * it is still in the cache) and hand the finished leaf hash to a small reorder window. Whoever
 * finishes the oldest outstanding chunk pushes the leaves that are now in order into a compact
 * Merkle accumulator (one pending subtree root per bit of the leaf count). So memory is the
 * buffers plus O(window + log n) hashes, whatever the image's size.
 *
 * The plain SHA-256 (want_sha256) must see the bytes in order and cannot be split. It runs in its
 * own thread that consumes whole chunks, in order, from a ring of chunk buffers the workers fill;
 * a worker reuses a ring slot only once the SHA-256 thread is done with it. The Merkle work still
 * spreads over all cores and the sequential hash overlaps it, so the total time is about
 * max(merkle on all cores, one core's SHA-256) plus contention for the cores they share.
 */

#define LEAF_WINDOW 64 /* leaves finished out of order, waiting to be pushed */

static const uint8_t LEAF_PREFIX = 0x00, NODE_PREFIX = 0x01;

/* Pending subtree roots of RFC 6962's tree over the leaves pushed so far: stack[i] covers a
 * complete subtree, sizes strictly decreasing, one per set bit of count. */
struct merkle_acc {
	uint8_t stack[64][32];
	unsigned depth;
	uint64_t count;
};

static int node_hash(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t left[32],
		     const uint8_t right[32], uint8_t out[32])
{
	unsigned len = 0;

	if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, &NODE_PREFIX, 1) ||
	    !EVP_DigestUpdate(ctx, left, 32) || !EVP_DigestUpdate(ctx, right, 32) ||
	    !EVP_DigestFinal_ex(ctx, out, &len) || len != 32)
		return -1;
	return 0;
}

static int acc_push(struct merkle_acc *acc, EVP_MD_CTX *ctx, const EVP_MD *md,
		    const uint8_t leaf[32])
{
	memcpy(acc->stack[acc->depth++], leaf, 32);
	acc->count++;
	/* Each trailing zero bit of the new count closes one pair of equal-sized subtrees. */
	for (uint64_t c = acc->count; !(c & 1); c >>= 1) {
		acc->depth--;
		if (node_hash(ctx, md, acc->stack[acc->depth - 1], acc->stack[acc->depth],
			      acc->stack[acc->depth - 1]) < 0)
			return -1;
	}
	return 0;
}

/* RFC 6962 splits a list at the largest power of two below its length, so the root is the
 * pending subtrees folded from the right: H(s0, H(s1, ... H(s_k-1, s_k))). */
static int acc_root(struct merkle_acc *acc, EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t root[32])
{
	uint8_t r[32];
	unsigned len = 0;

	if (acc->count == 0) {
		if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestFinal_ex(ctx, root, &len))
			return -1;
		return 0;
	}
	memcpy(r, acc->stack[acc->depth - 1], 32);
	for (unsigned i = acc->depth - 1; i-- > 0;)
		if (node_hash(ctx, md, acc->stack[i], r, r) < 0)
			return -1;
	memcpy(root, r, 32);
	return 0;
}

int merkle_root_mem_params(const uint8_t *data, uint64_t len, uint32_t chunk_size,
			   uint8_t root[static 32])
{
	struct merkle_acc acc = {0};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	int rc = -1;

	if (!ctx || !md || chunk_size == 0)
		goto out;
	for (uint64_t off = 0; off < len; off += chunk_size) {
		uint64_t n = len - off < chunk_size ? len - off : chunk_size;
		uint8_t leaf[32];
		unsigned mdlen = 0;

		if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, &LEAF_PREFIX, 1) ||
		    !EVP_DigestUpdate(ctx, data + off, n) || !EVP_DigestFinal_ex(ctx, leaf, &mdlen) ||
		    acc_push(&acc, ctx, md, leaf) < 0)
			goto out;
	}
	rc = acc_root(&acc, ctx, md, root);
out:
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return rc;
}

void merkle_root_mem(const uint8_t *data, uint64_t len, uint8_t root[static 32])
{
	/* Only an OpenSSL failure (out of memory) gets here; a wrong digest would be worse. */
	if (merkle_root_mem_params(data, len, VS_CHUNK_SIZE, root) < 0)
		abort();
}

struct job;

struct worker {
	struct job *job;
	pthread_t tid;
	bool started;
	EVP_MD_CTX *ctx;
	uint8_t *buf; /* read_size bytes, page-aligned; unused with want_sha256 (ring slots) */
	struct vs_error err;
};

struct job {
	int fd;
	const char *name;
	uint64_t size, nchunks;
	uint32_t chunk_size, read_size;
	bool want_sha256;
	const EVP_MD *md;

	_Atomic uint64_t next_chunk; /* next chunk to claim */

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* broadcast on every state change */
	bool failed;
	struct vs_error err; /* the first failure */
	uint64_t done_bytes;
	unsigned workers_left;
	/* leaf reorder window: slot c % LEAF_WINDOW holds chunk c's leaf when tag == c + 1 */
	uint64_t leaf_tag[LEAF_WINDOW];
	uint8_t leaf[LEAF_WINDOW][32];
	uint64_t leaves_pushed;
	struct merkle_acc acc;
	EVP_MD_CTX *acc_ctx;
	/* want_sha256: ring of nslots chunk buffers; slot c % nslots holds chunk c when tag == c + 1 */
	uint8_t *ring;
	uint64_t *ring_tag;
	unsigned nslots;
	uint64_t sha_done; /* chunks consumed by the SHA-256 thread */
	bool sha_running;
	EVP_MD_CTX *sha_ctx;
	struct vs_error sha_err;
};

static void job_fail(struct job *j, const struct vs_error *err)
{
	pthread_mutex_lock(&j->mu);
	if (!j->failed) {
		j->failed = true;
		j->err = *err;
	}
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

static int pread_full(int fd, uint8_t *buf, size_t len, uint64_t off, const char *name,
		      struct vs_error *err)
{
	while (len > 0) {
		ssize_t r = pread(fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail(err, VS_ERR_IO, name, "read at offset %llu: %m",
				       (unsigned long long)off);
		if (r == 0)
			return vs_fail(err, VS_ERR_IO, name,
				       "file shrank while hashing (end of file at offset %llu)",
				       (unsigned long long)off);
		buf += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Reads chunk c into buf (a piece at a time, or the whole chunk into a ring slot) and hashes it. */
static int leaf_hash_chunk(struct job *j, struct worker *w, uint64_t c, uint8_t *buf,
			   uint8_t leaf[32])
{
	uint64_t off = c * j->chunk_size;
	size_t len = j->size - off < j->chunk_size ? (size_t)(j->size - off) : j->chunk_size;
	unsigned mdlen = 0;

	if (!EVP_DigestInit_ex(w->ctx, j->md, NULL) || !EVP_DigestUpdate(w->ctx, &LEAF_PREFIX, 1))
		return vs_fail_ssl(&w->err, VS_ERR_INTERNAL, j->name, "SHA-256");
	for (size_t done = 0; done < len;) {
		size_t n = len - done < j->read_size ? len - done : j->read_size;
		uint8_t *dst = j->want_sha256 ? buf + done : buf;

		if (pread_full(j->fd, dst, n, off + done, j->name, &w->err) < 0)
			return -1;
		if (!EVP_DigestUpdate(w->ctx, dst, n))
			return vs_fail_ssl(&w->err, VS_ERR_INTERNAL, j->name, "SHA-256");
		done += n;
	}
	if (!EVP_DigestFinal_ex(w->ctx, leaf, &mdlen) || mdlen != 32)
		return vs_fail_ssl(&w->err, VS_ERR_INTERNAL, j->name, "SHA-256");
	return 0;
}

/* Waits until chunk c has a free leaf slot and (want_sha256) a free ring slot. */
static int wait_for_slots(struct job *j, uint64_t c)
{
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	while (!j->failed && (c >= j->leaves_pushed + LEAF_WINDOW ||
			      (j->want_sha256 && c >= j->sha_done + j->nslots)))
		pthread_cond_wait(&j->cv, &j->mu);
	if (j->failed)
		rc = -1;
	pthread_mutex_unlock(&j->mu);
	return rc;
}

/* Records chunk c's leaf and pushes every leaf that is now in order. */
static int chunk_finish(struct job *j, uint64_t c, const uint8_t leaf[32], struct vs_error *err)
{
	uint64_t len = j->size - c * j->chunk_size;
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	memcpy(j->leaf[c % LEAF_WINDOW], leaf, 32);
	j->leaf_tag[c % LEAF_WINDOW] = c + 1;
	if (j->want_sha256)
		j->ring_tag[c % j->nslots] = c + 1;
	j->done_bytes += len < j->chunk_size ? len : j->chunk_size;
	while (rc == 0 && j->leaf_tag[j->leaves_pushed % LEAF_WINDOW] == j->leaves_pushed + 1) {
		if (acc_push(&j->acc, j->acc_ctx, j->md, j->leaf[j->leaves_pushed % LEAF_WINDOW]) < 0)
			rc = vs_fail_ssl(err, VS_ERR_INTERNAL, j->name, "SHA-256");
		j->leaves_pushed++;
	}
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->job;

	for (;;) {
		uint64_t c = atomic_fetch_add(&j->next_chunk, 1);
		uint8_t leaf[32];
		uint8_t *buf;

		if (c >= j->nchunks || wait_for_slots(j, c) < 0)
			break;
		buf = j->want_sha256 ? j->ring + (size_t)(c % j->nslots) * j->chunk_size : w->buf;
		if (leaf_hash_chunk(j, w, c, buf, leaf) < 0 || chunk_finish(j, c, leaf, &w->err) < 0) {
			job_fail(j, &w->err);
			break;
		}
	}
	pthread_mutex_lock(&j->mu);
	j->workers_left--;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* Consumes the chunks in order from the ring into one plain SHA-256. */
static void *sha_main(void *arg)
{
	struct job *j = arg;

	for (uint64_t c = 0; c < j->nchunks; c++) {
		uint64_t len = j->size - c * j->chunk_size;
		const uint8_t *data = j->ring + (size_t)(c % j->nslots) * j->chunk_size;
		bool failed;

		pthread_mutex_lock(&j->mu);
		while (!j->failed && j->ring_tag[c % j->nslots] != c + 1)
			pthread_cond_wait(&j->cv, &j->mu);
		failed = j->failed;
		pthread_mutex_unlock(&j->mu);
		if (failed)
			break;
		if (!EVP_DigestUpdate(j->sha_ctx, data, len < j->chunk_size ? len : j->chunk_size)) {
			vs_fail_ssl(&j->sha_err, VS_ERR_INTERNAL, j->name, "SHA-256");
			job_fail(j, &j->sha_err);
			break;
		}
		pthread_mutex_lock(&j->mu);
		j->sha_done = c + 1;
		pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
	pthread_mutex_lock(&j->mu);
	j->sha_running = false;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* Size of a regular file or block device; anything else is refused. */
static int fd_size(int fd, const char *name, struct stat *st, uint64_t *size, struct vs_error *err)
{
	if (fstat(fd, st) < 0)
		return vs_fail(err, VS_ERR_IO, name, "stat: %m");
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return vs_fail(err, VS_ERR_IO, name, "block device size: %m");
		return 0;
	}
	return vs_fail(err, VS_ERR_INPUT, name, "not a regular file or block device (%s)",
		       S_ISDIR(st->st_mode) ? "a directory" : "a special file");
}

static unsigned threads_online(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void *alloc_aligned(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len) != 0)
		return NULL;
	return p;
}

int merkle_root_fd_params(int fd, const char *name, const struct merkle_opts *opts,
			  const struct merkle_params *params, struct merkle_result *out,
			  struct vs_error *err)
{
	static const struct merkle_opts no_opts;
	struct job j = {0};
	struct worker *workers = NULL;
	pthread_t sha_tid;
	bool sha_started = false;
	unsigned nthreads = 0, mdlen = 0;
	uint64_t reported = 0;
	EVP_MD *md = NULL;
	struct stat st0, st1;
	uint64_t size1;
	int rc = -1;

	if (!opts)
		opts = &no_opts;
	if (!params || params->chunk_size == 0 || params->read_size == 0 ||
	    params->read_size > params->chunk_size)
		return vs_fail(err, VS_ERR_USAGE, name, "bad chunk or read size");
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	j.fd = fd;
	j.name = name;
	j.chunk_size = params->chunk_size;
	j.read_size = params->read_size;
	j.want_sha256 = opts->want_sha256 != 0;
	if (fd_size(fd, name, &st0, &j.size, err) < 0)
		goto out;
	j.nchunks = j.size / j.chunk_size + (j.size % j.chunk_size != 0);
	/* Advice only: a larger readahead window for the chunk-sized sequential reads. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	j.md = md;
	j.acc_ctx = EVP_MD_CTX_new();
	j.sha_ctx = EVP_MD_CTX_new();
	if (!md || !j.acc_ctx || !j.sha_ctx || !EVP_DigestInit_ex(j.sha_ctx, md, NULL)) {
		vs_fail_ssl(err, VS_ERR_INTERNAL, name, "SHA-256");
		goto out;
	}

	nthreads = opts->threads ? opts->threads : threads_online();
	if (nthreads > VS_MERKLE_MAX_THREADS)
		nthreads = VS_MERKLE_MAX_THREADS;
	if (nthreads > j.nchunks)
		nthreads = (unsigned)j.nchunks;
	workers = calloc(nthreads ? nthreads : 1, sizeof(*workers));
	if (!workers) {
		vs_fail(err, VS_ERR_INTERNAL, name, "out of memory");
		goto out;
	}
	if (j.want_sha256 && nthreads > 0) {
		/* Two spare slots let the workers run ahead while the SHA-256 thread catches up. */
		j.nslots = nthreads + 2;
		j.ring = alloc_aligned((size_t)j.nslots * j.chunk_size);
		j.ring_tag = calloc(j.nslots, sizeof(*j.ring_tag));
		if (!j.ring || !j.ring_tag) {
			vs_fail(err, VS_ERR_INTERNAL, name, "out of memory for %u chunk buffers",
				j.nslots);
			goto out;
		}
	}
	for (unsigned i = 0; i < nthreads; i++) {
		workers[i].job = &j;
		workers[i].ctx = EVP_MD_CTX_new();
		if (!j.want_sha256)
			workers[i].buf = alloc_aligned(j.read_size);
		if (!workers[i].ctx || (!j.want_sha256 && !workers[i].buf)) {
			vs_fail(err, VS_ERR_INTERNAL, name, "out of memory for thread buffers");
			goto out;
		}
	}

	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) {
			struct vs_error e = {0};

			vs_fail(&e, VS_ERR_INTERNAL, name, "cannot start hashing thread");
			job_fail(&j, &e);
			break;
		}
		workers[i].started = true;
		pthread_mutex_lock(&j.mu);
		j.workers_left++;
		pthread_mutex_unlock(&j.mu);
	}
	if (j.want_sha256 && nthreads > 0) {
		j.sha_running = true;
		if (pthread_create(&sha_tid, NULL, sha_main, &j) != 0) {
			struct vs_error e = {0};

			j.sha_running = false;
			vs_fail(&e, VS_ERR_INTERNAL, name, "cannot start hashing thread");
			job_fail(&j, &e);
		} else {
			sha_started = true;
		}
	}

	/* The calling thread only waits and reports progress, so callbacks never run concurrently. */
	pthread_mutex_lock(&j.mu);
	for (;;) {
		uint64_t done = j.done_bytes;

		if (opts->progress && done != reported && !j.failed) {
			pthread_mutex_unlock(&j.mu);
			opts->progress(done, j.size, opts->progress_arg);
			reported = done;
			pthread_mutex_lock(&j.mu);
			continue;
		}
		if (j.workers_left == 0 && !j.sha_running)
			break;
		pthread_cond_wait(&j.cv, &j.mu);
	}
	pthread_mutex_unlock(&j.mu);
	for (unsigned i = 0; i < nthreads; i++)
		if (workers[i].started)
			pthread_join(workers[i].tid, NULL);
	if (sha_started)
		pthread_join(sha_tid, NULL);
	if (j.failed) {
		if (err)
			*err = j.err;
		goto out;
	}
	if (j.leaves_pushed != j.nchunks) {
		vs_fail(err, VS_ERR_INTERNAL, name, "hashed %llu of %llu chunks",
			(unsigned long long)j.leaves_pushed, (unsigned long long)j.nchunks);
		goto out;
	}

	/* A file that changed while it was read has no meaningful digest. */
	if (fd_size(fd, name, &st1, &size1, err) < 0)
		goto out;
	if (size1 != j.size) {
		vs_fail(err, VS_ERR_IO, name, "size changed while hashing (from %llu to %llu bytes)",
			(unsigned long long)j.size, (unsigned long long)size1);
		goto out;
	}
	if (S_ISREG(st0.st_mode) && (st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
				     st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec)) {
		vs_fail(err, VS_ERR_IO, name, "modified while hashing (mtime changed)");
		goto out;
	}
	/* A writer can put the mtime back (futimens, touch -d); the ctime only the kernel sets. */
	if (S_ISREG(st0.st_mode) && (st1.st_ctim.tv_sec != st0.st_ctim.tv_sec ||
				     st1.st_ctim.tv_nsec != st0.st_ctim.tv_nsec)) {
		vs_fail(err, VS_ERR_IO, name, "modified while hashing (ctime changed)");
		goto out;
	}

	if (acc_root(&j.acc, j.acc_ctx, md, out->root) < 0) {
		vs_fail_ssl(err, VS_ERR_INTERNAL, name, "SHA-256");
		goto out;
	}
	out->size = j.size;
	memset(out->sha256, 0, sizeof(out->sha256));
	if (j.want_sha256 && (!EVP_DigestFinal_ex(j.sha_ctx, out->sha256, &mdlen) || mdlen != 32)) {
		vs_fail_ssl(err, VS_ERR_INTERNAL, name, "SHA-256");
		goto out;
	}
	if (opts->progress && reported != j.size)
		opts->progress(j.size, j.size, opts->progress_arg);
	rc = 0;
out:
	for (unsigned i = 0; workers && i < nthreads; i++) {
		EVP_MD_CTX_free(workers[i].ctx);
		free(workers[i].buf);
	}
	free(workers);
	free(j.ring);
	free(j.ring_tag);
	EVP_MD_CTX_free(j.acc_ctx);
	EVP_MD_CTX_free(j.sha_ctx);
	EVP_MD_free(md);
	pthread_cond_destroy(&j.cv);
	pthread_mutex_destroy(&j.mu);
	return rc;
}

int merkle_root_fd(int fd, const char *name, const struct merkle_opts *opts,
		   struct merkle_result *out, struct vs_error *err)
{
	static const struct merkle_params params = {VS_CHUNK_SIZE, MERKLE_READ_SIZE};

	return merkle_root_fd_params(fd, name, opts, &params, out, err);
}

int merkle_root_path(const char *path, const struct merkle_opts *opts, struct merkle_result *out,
		     struct vs_error *err)
{
	int fd, rc;

	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_BLK, NULL, &fd, NULL, err) < 0) {
		if (err && err->kind == VS_ERR_NOTFOUND) /* a verdict on the input, as before */
			err->kind = VS_ERR_INPUT;
		return -1;
	}
	rc = merkle_root_fd(fd, path, opts, out, err);
	close(fd);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway deferred calls: one thread runs the slow routes, identical calls share one run. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/gateway_defer.h"

struct waiter {
	struct waiter *next;
	defer_done_fn done;
	void *arg;
};

struct defer_job {
	struct defer_job *next;
	const struct route *rt;
	char *name, *query, *body, *client;
	size_t body_len;
	struct waiter *waiters, **tail;
};

struct defer {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct defer_job *head, **tail; /* the head is the job running */
	int stop;
	int have_thread;
	pthread_t thread;
	struct gateway *gw;
};

static char *dup_or_null(const char *s, size_t n, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = malloc(n + 1);
	if (!d) {
		*failed = 1;
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

struct defer_job *defer_job_new(const struct call *c)
{
	struct defer_job *job = calloc(1, sizeof(*job));
	int failed = 0;

	if (!job)
		return NULL;
	job->rt = c->rt;
	job->name = dup_or_null(c->name ? c->name : "", strlen(c->name ? c->name : ""), &failed);
	job->query = dup_or_null(c->query, c->query ? strlen(c->query) : 0, &failed);
	job->body = dup_or_null(c->body, c->body_len, &failed);
	job->body_len = c->body_len;
	job->client = dup_or_null(c->client ? c->client : "", strlen(c->client ? c->client : ""),
				  &failed);
	job->tail = &job->waiters;
	if (failed) {
		defer_job_free(job);
		return NULL;
	}
	return job;
}

void defer_job_free(struct defer_job *job)
{
	if (!job)
		return;
	while (job->waiters) {
		struct waiter *w = job->waiters;

		job->waiters = w->next;
		free(w);
	}
	free(job->name);
	free(job->query);
	free(job->body);
	free(job->client);
	free(job);
}

static int same_call(const struct defer_job *a, const struct defer_job *b)
{
	return a->rt == b->rt && !strcmp(a->name, b->name) &&
	       (a->query ? b->query && !strcmp(a->query, b->query) : !b->query) &&
	       a->body_len == b->body_len && (!a->body_len || !memcmp(a->body, b->body, a->body_len));
}

/* Answers every waiter of job: the first gets rep, the others a copy of it. */
static void deliver(struct defer_job *job, struct reply *rep)
{
	for (struct waiter *w = job->waiters; w; w = w->next) {
		struct reply mine = *rep;

		if (w->next) {
			mine.body = rep->body ? json_deep_copy(rep->body) : NULL;
			if (!mine.body)
				reply_error(&mine, 500, "internal", "out of memory");
		} else {
			rep->body = NULL; /* the last waiter takes the original */
		}
		w->done(w->arg, &mine);
	}
	json_decref(rep->body);
}

/* Runs job's route into rep, with the policy read lock. */
static void run(struct defer *d, struct defer_job *job, struct reply *rep)
{
	struct caller nobody = {.n = 0};
	struct call c = {.gw = d->gw, .rt = job->rt, .name = job->name, .query = job->query,
			 .body = job->body, .body_len = job->body_len, .who = &nobody,
			 .client = job->client, .out = rep};

	gateway_policy_read(d->gw);
	job->rt->fn(&c);
	gateway_policy_done(d->gw);
	if (!rep->body)
		reply_error(rep, 500, "internal", "out of memory");
}

static void *defer_main(void *arg)
{
	struct defer *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct reply rep = {0};
		struct defer_job *job;
		int stopping;

		while (!d->head && !d->stop)
			pthread_cond_wait(&d->wake, &d->lock);
		if (!d->head)
			break;
		job = d->head;
		stopping = d->stop;
		pthread_mutex_unlock(&d->lock);
		if (stopping)
			reply_error(&rep, 503, "shutting_down", "the gateway is stopping");
		else
			run(d, job, &rep);
		/* Off the queue once it ran, and only then are its waiters (complete now) answered;
		 * a call that arrives after this starts a job of its own. */
		pthread_mutex_lock(&d->lock);
		d->head = job->next;
		if (!d->head)
			d->tail = &d->head;
		pthread_mutex_unlock(&d->lock);
		deliver(job, &rep);
		defer_job_free(job);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int defer_start(struct gateway *gw, struct vs_error *err)
{
	struct defer *d = calloc(1, sizeof(*d));

	if (!d)
		return vs_fail(err, VS_ERR_INTERNAL, "deferred calls", "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	d->tail = &d->head;
	d->gw = gw;
	gw->defer = d;
	if (pthread_create(&d->thread, NULL, defer_main, d) != 0)
		return vs_fail(err, VS_ERR_INTERNAL, "deferred calls", "cannot start a thread");
	d->have_thread = 1;
	return 0;
}

void defer_stop(struct gateway *gw)
{
	struct defer *d = gw->defer;

	if (!d || !d->have_thread)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	d->have_thread = 0;
}

void defer_free(struct gateway *gw)
{
	struct defer *d = gw->defer;

	if (!d)
		return;
	defer_stop(gw);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
	gw->defer = NULL;
}

void defer_submit(struct gateway *gw, struct defer_job *job, defer_done_fn done, void *arg)
{
	struct defer *d = gw->defer;
	struct waiter *w = calloc(1, sizeof(*w));
	struct defer_job *same = NULL;

	if (!w) {
		struct reply rep = {0};

		reply_error(&rep, 500, "internal", "out of memory");
		defer_job_free(job);
		done(arg, &rep);
		return;
	}
	w->done = done;
	w->arg = arg;
	pthread_mutex_lock(&d->lock);
	if (d->stop) {
		struct reply rep = {0};

		pthread_mutex_unlock(&d->lock);
		free(w);
		defer_job_free(job);
		reply_error(&rep, 503, "shutting_down", "the gateway is stopping");
		done(arg, &rep);
		return;
	}
	for (struct defer_job *j = d->head; j && !same; j = j->next)
		if (same_call(j, job))
			same = j;
	if (same) {
		*same->tail = w;
		same->tail = &w->next;
	} else {
		*job->tail = w;
		job->tail = &w->next;
		*d->tail = job;
		d->tail = &job->next;
		pthread_cond_signal(&d->wake);
	}
	pthread_mutex_unlock(&d->lock);
	if (same)
		defer_job_free(job);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway deferred calls, used by gateway_http.c (layers: gateway_core.h): a route marked
 * deferred (a cold GET /v1/templates hashes every template) runs on one thread of its own while
 * its connection is suspended, so that it never holds a libmicrohttpd worker that other calls
 * are waiting for. One deferred call runs at a time; a call identical to one queued or running
 * (same route, name and query) waits for that one's answer instead of running again. The queue
 * holds at most one job per suspended connection, so --max-connections bounds it. */
#ifndef VMSEAL_GATEWAY_DEFER_H
#define VMSEAL_GATEWAY_DEFER_H

#include "api/gateway_core.h"

struct defer_job;
/* Called once per job's caller, on the deferred-call thread (or in defer_stop): rep is the
 * caller's own answer (its body is the callee's to keep). */
typedef void (*defer_done_fn)(void *arg, struct reply *rep);

int defer_start(struct gateway *gw, struct vs_error *err);
/* Finishes the running job, answers the queued ones 503 shutting_down and joins the thread;
 * after it, defer_submit answers 503 at once (before the daemon stops, its threads may still
 * submit). defer_free (after the daemon stopped) frees what is left; both are safe to call twice
 * and after a failed start. */
void defer_stop(struct gateway *gw);
void defer_free(struct gateway *gw);

/* A job for c's route, name, query, body and client (copied; the route runs with no signers:
 * by the time it runs the policy may have been reloaded), NULL when out of memory. */
struct defer_job *defer_job_new(const struct call *c);
void defer_job_free(struct defer_job *job);
/* Queues job (taken), or joins an identical one queued or running; done(arg, ...) follows, on
 * the deferred-call thread (in this thread, before returning, once stopped or out of memory).
 * The route runs with the policy read lock held on the deferred-call thread. */
void defer_submit(struct gateway *gw, struct defer_job *job, defer_done_fn done, void *arg);

#endif

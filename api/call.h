/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-call internals shared by its files: the options every subcommand takes, one session
 * (keys loaded, a connection to the gateway) and one call through lib/gwclient. */
#ifndef VMSEAL_CALL_H
#define VMSEAL_CALL_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/gwclient.h"

#define PROG "vmseal-call"

/* getopt_long values of the options every subcommand takes (above any short option). */
enum {
	CALL_OPT_URL = 256,
	CALL_OPT_KEY,
	CALL_OPT_PASSFILE,
	CALL_OPT_CACERT,
	CALL_OPT_CERT,
	CALL_OPT_CERT_KEY,
	CALL_OPT_GATEWAY_PUB,
	CALL_OPT_EXPIRES_IN,
	CALL_OPT_VERBOSE,
};

/* The entries of those options, for a subcommand's option table. */
#define CALL_COMMON_OPTIONS                                                                      \
	{"url", required_argument, NULL, CALL_OPT_URL},                                          \
	{"key", required_argument, NULL, CALL_OPT_KEY},                                          \
	{"passphrase-file", required_argument, NULL, CALL_OPT_PASSFILE},                         \
	{"cacert", required_argument, NULL, CALL_OPT_CACERT},                                    \
	{"cert", required_argument, NULL, CALL_OPT_CERT},                                        \
	{"cert-key", required_argument, NULL, CALL_OPT_CERT_KEY},                                \
	{"gateway-pub", required_argument, NULL, CALL_OPT_GATEWAY_PUB},                          \
	{"expires-in", required_argument, NULL, CALL_OPT_EXPIRES_IN},                            \
	{"verbose", no_argument, NULL, CALL_OPT_VERBOSE}

struct call_opts {
	const char *url, *passfile, *cacert, *cert, *cert_key, *gateway_pub;
	const char *keyspecs[HTTPSIG_MAX_SIGS];
	size_t nkeys;
	int64_t expires_in;             /* 0: 60 */
	int verbose, print_request, dry_run;
};

/* getopt_long over opts, taking the CALL_COMMON_OPTIONS into o: the next other option, -1 at
 * the end, CALL_GETOPT_FAILED after a usage error was printed. */
#define CALL_GETOPT_FAILED (-2)
int call_getopt(int argc, char **argv, const struct option *opts, struct call_opts *o);

/* Checks that --url and --key were given (1 or more keys): 0, or -1 after a usage error. */
int call_opts_check(const struct call_opts *o);

struct call_session {
	const struct call_opts *o;
	struct vs_key *keys[HTTPSIG_MAX_SIGS];
	size_t nkeys;
	struct vs_key *gateway_key;
	struct gwclient *gw;
};

/* Loads the keys (asking for passphrases) and the gateway's public key, opens the client. */
int call_open(const struct call_opts *o, struct call_session *s, struct vs_error *err);

/* Signs call with the session's keys (call->keys are set here), prints it with --print-request,
 * sends it unless --dry-run (then resp->status stays 0), prints the answer's status and headers
 * with --verbose. gwclient_send's result: free resp in every case. */
int call_send(struct call_session *s, struct gwclient_call *call, struct gwclient_response *resp,
	      struct vs_error *err);

void call_close(struct call_session *s);

/* One call in a session of its own, its 2xx answer's JSON object (*ans) and the string member
 * name of it (*value): gwclient_response_string's result. */
int call_member(const struct call_opts *o, struct gwclient_call *call, const char *name,
		json_t **ans, const char **value, struct vs_error *err);

/* vmseal-call ssh-cert (call_ssh.c); argv[0] is "ssh-cert". */
int call_ssh_cert(int argc, char **argv);
/* vmseal-call ssh-krl (call_ssh.c); argv[0] is "ssh-krl". */
int call_ssh_krl(int argc, char **argv);

#endif

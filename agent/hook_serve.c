/* SPDX-License-Identifier: Apache-2.0 */
/* The hook's judge server: a process that has paid once for what every judged call pays
 * otherwise (loading libxml2, ICU, libstdc++, OpenSSL and jansson, OpenSSL's configuration and
 * algorithm tables, libxml2's initialisation: about half of a cached start begin here), and
 * forks a child per call (ahead of it: a spare waits for the next call) that runs the judge
 * exactly as the first stage would have run it in its own process. The child starts from this
 * process's state before any call (nothing a call reads or decides survives it), on the
 * caller's stdin, stdout, stderr, working directory and umask; the first stage waits for it and exits with its status. See lib/hookop.h (the request)
 * and agent/vmseal-hook.c (the caller). */
#include "agent/hook_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/hookop.h"
#include "lib/util.h"

#define PROG "vmseal-hook"
/* Calls served at once; a caller beyond waits in the listen queue (libvirt runs one hook per
 * domain at a time; many domains starting together are the case this bounds). */
#define MAX_CHILDREN 32
/* How long a child waits for its caller's request after the connection was accepted. */
#define REQUEST_TIMEOUT_S 5

static volatile sig_atomic_t stop_signal;
static int in_child;

int hook_serve_in_child(void)
{
	return in_child;
}

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_child(int sig)
{
	(void)sig; /* only interrupts the server's wait, so that finished children are reaped */
}

/* What the first judged call of a process would do, done once here: OpenSSL's configuration
 * and its algorithm tables (the first fetch builds them), libxml2's global state. */
static void prewarm(void)
{
	static const unsigned char k[32];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_PKEY *pk;

	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL);
	EVP_Digest(k, sizeof(k), md, &mdlen, EVP_sha256(), NULL);
	HMAC(EVP_sha256(), k, sizeof(k), k, sizeof(k), md, &mdlen);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k, sizeof(k));
	EVP_PKEY_free(pk);
	xmlInitParser();
}

/* The socket's directory must be this user's and writable by nobody else: whoever may write
 * there could put their own socket in its place. */
static int dir_is_ours(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		fprintf(stderr, "%s: error: %s: the judge server's directory must be a directory of uid %u, "
			"writable by nobody else\n", PROG, dir, (unsigned)geteuid());
		return 0;
	}
	return 1;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int s, t;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: error: %s: the socket must be an absolute path of at most %zu bytes\n",
			PROG, path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (!dir_is_ours(path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "%s: error: %s exists and is not a socket\n", PROG, path);
			return -1;
		}
		t = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (t >= 0 && connect(t, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(t);
			fprintf(stderr, "%s: error: %s: another judge server listens there\n", PROG, path);
			return -1;
		}
		if (t >= 0)
			close(t);
		unlink(path); /* a stale socket: its server is gone */
	}
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fprintf(stderr, "%s: error: socket: %s\n", PROG, strerror(errno));
		return -1;
	}
	old = umask(0177); /* the socket is born 0600 */
	t = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (t < 0 || listen(s, 64) < 0) {
		fprintf(stderr, "%s: error: %s: cannot listen: %s\n", PROG, path, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

static void close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* A served call, in its own child: never returns. */
static void serve_one(int c, int (*judge)(int, char **))
{
	static char req[HOOK_SERVE_MAX_BYTES];
	char *argv[HOOK_SERVE_MAX_ARGS + 1];
	/* room for more descriptors than a request has, so that extra ones are seen (and closed) */
	union {
		char buf[CMSG_SPACE(sizeof(int) * (HOOK_SERVE_NFDS + 4))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = req, .iov_len = sizeof(req)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct timeval tv = {.tv_sec = REQUEST_TIMEOUT_S};
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	struct stat st;
	int fds[HOOK_SERVE_NFDS + 4], nfds = 0, argc, rc, ok;
	unsigned mask;
	sigset_t all;
	ssize_t n;
	char ans;

	/* Here for the call: only now does the caller send it, with its descriptors. */
	ans = HOOK_SERVE_ACK;
	if (send(c, &ans, 1, MSG_NOSIGNAL) != 1)
		_exit(2);
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	do
		n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm)) {
		int k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k && nfds < (int)(sizeof(fds) / sizeof(fds[0])); i++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
	ok = n > 0 && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && nfds == HOOK_SERVE_NFDS &&
	     hook_request_decode(req, (unsigned)n, &mask, &argc, argv) == 0 && fstat(fds[3], &st) == 0 &&
	     S_ISDIR(st.st_mode);
	if (!ok) {
		close_fds(fds, nfds);
		fprintf(stderr, "%s: refused a malformed call (%zd bytes, %d descriptors)\n", PROG, n, nfds);
		_exit(2);
	}
	/* The caller's process, as far as the judge can tell: its descriptors, directory, umask;
	 * signals as a new process has them. */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (dup2(fds[0], STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0 ||
	    dup2(fds[2], STDERR_FILENO) < 0 || fchdir(fds[3]) < 0)
		_exit(2);
	close_fds(fds, nfds);
	umask((mode_t)mask);
	in_child = 1;
	optind = 0; /* getopt starts afresh (glibc) */
	rc = judge(argc, argv);
	fflush(NULL);
	/* The caller's pipes closed before the verdict: libvirt reads the hook's stdout and stderr
	 * to their end, which then comes with the first stage's exit, not after this child's
	 * teardown (its copy of the server's memory unmapped). */
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	ans = (char)(rc >= 0 && rc <= 255 ? rc : 2);
	send(c, &ans, 1, MSG_NOSIGNAL);
	_exit(0);
}

/* 1 when the caller on connection c is of this process's user; else 0, c closed, logged. */
static int peer_ok(int c)
{
	struct ucred cred;
	socklen_t credlen = sizeof(cred);

	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0 && credlen == sizeof(cred) &&
	    cred.uid == geteuid())
		return 1;
	fprintf(stderr, "%s: refused a call from uid %d (pid %d): only uid %u is served\n", PROG,
		credlen == sizeof(cred) ? (int)cred.uid : -1, credlen == sizeof(cred) ? (int)cred.pid : -1,
		(unsigned)geteuid());
	close(c);
	return 0;
}

/* The spare: a child forked before its call, so that a call does not wait for a fork. It takes
 * the next connection itself, tells the server on link ('T') and serves it; it ends without a
 * call when the server closes its end of link (it stops, or it died). */
static void spare_main(int s, int link, int (*judge)(int, char **))
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	char t = 'T';
	int c;

	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGCHLD, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = link, .events = POLLIN}, {.fd = s, .events = POLLIN}};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		/* the server is gone or stops: a call already queued is still taken, then no more */
		if (pfd[0].revents && !(pfd[1].revents & POLLIN))
			_exit(0);
		if (!(pfd[1].revents & POLLIN))
			continue;
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0 && pfd[0].revents)
			_exit(0);
		if (c < 0) {
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
				usleep(10000); /* EMFILE, ENOBUFS...: the queue keeps the caller */
			continue;
		}
		if (!peer_ok(c)) {
			if (pfd[0].revents)
				_exit(0);
			continue;
		}
		break;
	}
	/* A call: the server forks the next spare; this one is no longer its to end. */
	send(link, &t, 1, MSG_NOSIGNAL);
	close(link);
	close(s);
	serve_one(c, judge);
}

/* Forks the next spare; its link's server end, or -1 (fork failed: said on stderr, once for a
 * run of failures, which are retried every 100 ms). */
static int spare_fork(int s, int (*judge)(int, char **))
{
	static int failing;
	pid_t pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		if (!failing++)
			fprintf(stderr, "%s: cannot make a spare for the next call (retried): %s\n", PROG,
				strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		spare_main(s, sv[1], judge);
	}
	close(sv[1]);
	if (pid < 0) {
		if (!failing++)
			fprintf(stderr, "%s: cannot fork a spare for the next call (retried): %s\n", PROG,
				strerror(errno));
		close(sv[0]);
		return -1;
	}
	if (failing)
		fprintf(stderr, "%s: a spare for the next call again (after %d failures)\n", PROG, failing);
	failing = 0;
	return sv[0];
}

int hook_serve(const char *path, int (*judge)(int, char **))
{
	struct sigaction sa = {0};
	sigset_t block, waiting;
	struct timespec retry = {.tv_nsec = 100 * 1000 * 1000};
	int s, c, link = -1, live = 0, failed = 0;
	pid_t pid;

	/* Nothing its starter left open beyond 0-2 reaches a call's judge; 0-2 open (/dev/null if
	 * not), so that a received descriptor never lands there. */
	if (fd_close_from(3) < 0) {
		fprintf(stderr, "%s: cannot close the descriptors this server was started with: %s\n", PROG,
			strerror(errno));
		return 2;
	}
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return 2;
	s = listen_on(path);
	if (s < 0)
		return 2;
	prewarm();
	/* The signals are blocked but while ppoll waits: one that came between the loop's test
	 * and the wait would otherwise be lost (and the server stay in its wait). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);
	sigdelset(&waiting, SIGCHLD);
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK); /* ready, then taken by another: accept fails */
	sa.sa_handler = on_stop; /* no SA_RESTART: ppoll() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "%s: judge server listening on %s (pid %d)\n", PROG, path, (int)getpid());
	/* The server itself never accepts: its spare child (one at a time, forked ahead) does, and
	 * says so; the server then forks the next. At most MAX_CHILDREN children, the spare
	 * included; a caller beyond waits in the listen queue. */
	while (!stop_signal) {
		struct pollfd pfd = {.fd = link, .events = POLLIN};

		while (live > 0 && (pid = waitpid(-1, NULL, WNOHANG)) > 0)
			live--;
		if (link < 0 && live < MAX_CHILDREN) {
			link = spare_fork(s, judge);
			if (link >= 0)
				live++;
			failed = link < 0;
		}
		/* a fork that failed is tried again after a pause, not in a loop */
		if (ppoll(&pfd, link >= 0, failed ? &retry : NULL, &waiting) <= 0 || !(pfd.revents & (POLLIN | POLLHUP)))
			continue; /* a signal (or the pause): the loop's test decides */
		{
			char t = 0;
			ssize_t n = recv(link, &t, 1, MSG_DONTWAIT);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			close(link);
			link = -1;
			if (n != 1 || t != 'T')
				/* the spare ended without a call (killed?): the next one after a pause */
				nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
		}
	}
	/* No new caller finds the socket; the calls already queued are served (the spare takes
	 * one, the server forks for the others), then the socket closes. Calls in progress finish
	 * on their own (the package's unit leaves them: KillMode=process), and the next server
	 * starts at once. */
	unlink(path);
	for (;;) {
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (c < 0)
			break;
		if (!peer_ok(c))
			continue;
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			if (link >= 0)
				close(link);
			close(s);
			serve_one(c, judge);
		}
		if (pid < 0)
			fprintf(stderr, "%s: cannot fork for a queued call: %s\n", PROG, strerror(errno));
		close(c); /* a failed fork: the caller sees the connection end and refuses (exit 2) */
	}
	if (link >= 0)
		close(link); /* the spare ends, unless it took a call */
	close(s);
	fprintf(stderr, "%s: judge server on %s stopped (signal %d)\n", PROG, path, (int)stop_signal);
	return 0;
}

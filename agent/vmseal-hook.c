/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-hook's first stage: lets libvirt's calls it does not judge pass at once, hands the
 * others to the judge: the judge server's (`vmseal-hook --serve`) when it runs, else the judge
 * loaded into this process. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/hookop.h"

/* The judge's absolute path, fixed when this file is compiled (Makefile: the build tree's own
 * judge for $(BUILD)/bin and $(BUILD)/testbin, $(LIBEXECDIR)/vmseal for `make install`). Never
 * looked up in a search path or the environment. */
#ifndef VMSEAL_HOOK_JUDGE
#error "VMSEAL_HOOK_JUDGE (the judge's absolute path) must be defined"
#endif

/*
 * libvirt runs its qemu hook at every step of a domain's life (prepare, start, started,
 * stopped, release, reconnect...), at least five times per start and stop, and waits for each.
 * The judge links libxml2 (which brings ICU and libstdc++), OpenSSL and jansson: loading them
 * costs more than the process itself. This stage links only libc and lib/hookop.c, decides
 * from argv alone, and exits 0 for libvirt's exact call of an operation the hook does not
 * judge, exactly as the judge would. Everything else, options and --help included, is the
 * judge's:
 *
 * - When the judge server listens on VMSEAL_HOOK_SOCKET (compiled in, like the judge's path;
 *   absent from the test build), the call goes there: the server, a process of the same user
 *   that loaded the judge once, forks a child that runs it on this process's stdin, stdout,
 *   stderr and working directory, and returns its exit status, which this process exits with.
 *   A server whose child for the call is not there within HOOK_SERVE_ACK_MS (nothing is sent
 *   before), or that ends without a verdict, refuses the call (exit 2); a server of another
 *   user is never used.
 * - Otherwise (no server: nothing listens, or no socket) the judge is loaded into this process
 *   and entered with the same arguments, stdin and environment. If it cannot be loaded, the
 *   call is refused (exit 2). The judge is linked with -z now, so a symbol it lacks fails the
 *   dlopen even with RTLD_LAZY; its libraries then bind as they would in a process of their
 *   own (lazily where they were built so): RTLD_NOW would resolve every PLT slot of libstdc++
 *   and the rest at once, ~1200 lookups (~0.3 ms here) that this call never uses.
 */

#ifdef VMSEAL_HOOK_SOCKET
#define SERVED_NONE (-1) /* no server: judge here */

static int refuse(const char *what)
{
	fprintf(stderr, "vmseal: error: the judge server %s %s; refused\n", VMSEAL_HOOK_SOCKET, what);
	return 2;
}

/* The call through the judge server: its exit status, or SERVED_NONE when no server listens. */
static int served(int argc, char **argv)
{
	static char req[HOOK_SERVE_MAX_BYTES];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	union {
		char buf[CMSG_SPACE(sizeof(int) * HOOK_SERVE_NFDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {0};
	struct iovec iov;
	struct cmsghdr *cm;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct pollfd pfd;
	int fds[HOOK_SERVE_NFDS] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, -1};
	unsigned len;
	mode_t mask;
	char ans;
	ssize_t n;
	int s, rc;

	if (sizeof(VMSEAL_HOOK_SOCKET) > sizeof(sa.sun_path))
		return SERVED_NONE;
	for (int i = 0; i < 3; i++)
		if (fcntl(fds[i], F_GETFD) < 0)
			return SERVED_NONE; /* stdin, stdout or stderr closed: nothing to pass */
	memcpy(sa.sun_path, VMSEAL_HOOK_SOCKET, sizeof(VMSEAL_HOOK_SOCKET));
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return SERVED_NONE;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return SERVED_NONE; /* nothing listens (or no socket): the judge runs here */
	}
	/* Only a server of this process's own user is trusted with the call. */
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0 || cred.uid != geteuid()) {
		close(s);
		return refuse("belongs to another user");
	}
	/* Nothing of this process goes over before the server's child for this call exists: a
	 * request queued at a server that does not accept would hold libvirt's pipes open (libvirt
	 * waits for their end) after this process gave up. */
	pfd.fd = s;
	pfd.events = POLLIN;
	do
		rc = poll(&pfd, 1, HOOK_SERVE_ACK_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0 || recv(s, &ans, 1, 0) != 1 || ans != HOOK_SERVE_ACK) {
		close(s);
		return refuse(rc == 0 ? "did not take the call in time" : "did not take the call");
	}
	mask = umask(077);
	umask(mask);
	len = hook_request_encode(req, sizeof(req), (unsigned)mask, argc, argv);
	fds[3] = len ? open(".", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fds[3] < 0) {
		close(s);
		return refuse("cannot be given this call (its arguments, descriptors or directory)");
	}
	iov.iov_base = req;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	do
		n = sendmsg(s, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	close(fds[3]);
	if (n != (ssize_t)len) {
		close(s);
		return refuse("did not take the call");
	}
	do
		n = recv(s, &ans, 1, 0);
	while (n < 0 && errno == EINTR);
	close(s);
	if (n != 1)
		return refuse("ended without a verdict");
	return (unsigned char)ans;
}
#endif

/* `vmseal-hook [OPTION...] --serve ...`: the server itself, always run here. (libvirt's exact
 * call has no options: a domain named "--serve" is a name.) */
static int is_serve(int argc, char **argv)
{
	if (hook_argv_is_libvirt(argc, argv))
		return 0;
	for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--serve"))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int (*judge)(int, char **) = NULL;
	void *h;

	if (hook_argv_is_libvirt(argc, argv) && !hook_op_judged(argv[2], argv[3]))
		return 0;
#ifdef VMSEAL_HOOK_SOCKET
	if (!is_serve(argc, argv)) {
		int rc = served(argc, argv);

		if (rc != SERVED_NONE)
			return rc;
	}
#else
	(void)is_serve;
#endif
	h = dlopen(VMSEAL_HOOK_JUDGE, RTLD_LAZY | RTLD_LOCAL);
	if (h)
		*(void **)&judge = dlsym(h, HOOK_JUDGE_ENTRY);
	if (!judge) {
		fprintf(stderr, "vmseal: error: cannot run the hook's judge %s: %s\n", VMSEAL_HOOK_JUDGE,
			dlerror());
		return 2;
	}
	return judge(argc, argv);
}

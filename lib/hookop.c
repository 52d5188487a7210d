/* SPDX-License-Identifier: Apache-2.0 */
/* The libvirt operations the hook judges (lib/hookop.h). */
#include "hookop.h"

#include <string.h>

int hook_op_judged(const char *op, const char *subop)
{
	static const char *const ops[] = {"prepare", "start", "restore", "migrate", "started", NULL};

	if (op && subop && !strcmp(op, "release") && !strcmp(subop, "end"))
		return 1; /* not a decision: the end of a run the hook allowed (overlay registry) */
	if (!op || !subop || strcmp(subop, "begin"))
		return 0;
	for (const char *const *o = ops; *o; o++)
		if (!strcmp(op, *o))
			return 1;
	return 0;
}

int hook_argv_is_libvirt(int argc, char *const *argv)
{
	return argc == 5 && argv[4] && !strcmp(argv[4], "-");
}

static void put_u32(char *p, unsigned v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)((v >> (8 * i)) & 0xff);
}

static unsigned get_u32(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++)
		v |= (unsigned)(unsigned char)p[i] << (8 * i);
	return v;
}

unsigned hook_request_encode(char *buf, unsigned cap, unsigned umask_bits, int argc, char *const *argv)
{
	unsigned len = HOOK_SERVE_MAGIC_BYTES + 8;

	if (argc < 1 || argc > HOOK_SERVE_MAX_ARGS || umask_bits > 0777)
		return 0;
	if (cap > HOOK_SERVE_MAX_BYTES)
		cap = HOOK_SERVE_MAX_BYTES;
	if (cap < len)
		return 0;
	memcpy(buf, HOOK_SERVE_MAGIC, HOOK_SERVE_MAGIC_BYTES);
	put_u32(buf + HOOK_SERVE_MAGIC_BYTES, umask_bits);
	put_u32(buf + HOOK_SERVE_MAGIC_BYTES + 4, (unsigned)argc);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (n > cap - len)
			return 0;
		memcpy(buf + len, argv[i], n);
		len += (unsigned)n;
	}
	return len;
}

int hook_request_decode(char *buf, unsigned len, unsigned *umask_bits, int *argc, char **argv)
{
	unsigned off = HOOK_SERVE_MAGIC_BYTES + 8, n;
	int i;

	if (len < off || len > HOOK_SERVE_MAX_BYTES || memcmp(buf, HOOK_SERVE_MAGIC, HOOK_SERVE_MAGIC_BYTES))
		return -1;
	*umask_bits = get_u32(buf + HOOK_SERVE_MAGIC_BYTES);
	n = get_u32(buf + HOOK_SERVE_MAGIC_BYTES + 4);
	if (*umask_bits > 0777 || n < 1 || n > HOOK_SERVE_MAX_ARGS)
		return -1;
	for (i = 0; i < (int)n; i++) {
		char *end = off < len ? memchr(buf + off, '\0', len - off) : NULL;

		if (!end)
			return -1;
		argv[i] = buf + off;
		off = (unsigned)(end - buf) + 1;
	}
	if (off != len || !argv[0][0])
		return -1;
	argv[n] = NULL;
	*argc = (int)n;
	return 0;
}

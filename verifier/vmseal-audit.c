/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-audit: verify, show and append to the hash-chained audit log. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/audit.h"
#include "lib/error.h"

#define PROG "vmseal-audit"

static const char usage_text[] =
	"Usage: vmseal-audit verify FILE\n"
	"       vmseal-audit show [--since N] [--json] FILE\n"
	"       vmseal-audit append --actor A --event E --decision D [--object O] [--reason R]\n"
	"                           [--no-sync] FILE\n"
	"       vmseal-audit --help | --version\n"
	"\n"
	"Checks and prints vmseal's audit log: JSON Lines, one event per line, each line carrying\n"
	"its sequence number (seq, from 1 without gaps) and the SHA-256 of the previous line\n"
	"(prev; 64 zeros for the first), so that editing, deleting or reordering any line except\n"
	"the last breaks the chain. The hook, the gateway and vmseal-sign/-verify append to it.\n"
	"\n"
	"Commands:\n"
	"  verify FILE     Parse every line strictly and check the chain. Prints \"ok N entries\".\n"
	"                  On a broken chain prints one line naming the first broken seq:\n"
	"                    vmseal-audit: denied: FILE: seq 7: <reason>\n"
	"                  A torn last line (a crash in the middle of an append) is reported as\n"
	"                  broken at the seq it would have had; once a later append resumed the\n"
	"                  chain after it, the fragment is accepted and a warning goes to stderr.\n"
	"  show FILE       Print the entries as a table (seq, time, decision, event, actor,\n"
	"                  object: reason). Does not check the chain: run verify for that.\n"
	"                  Lines that are not valid entries are skipped with a warning.\n"
	"  append FILE     Append one event (takes the log's lock, resumes after a torn line,\n"
	"                  fsyncs). For scripts and tests.\n"
	"\n"
	"Options:\n"
	"  --since N       show: only entries with seq >= N.\n"
	"  --json          show: print the raw JSON lines instead of the table.\n"
	"  --actor A       append: who acted (a keyid, \"hook\", a program name). Required.\n"
	"  --event E       append: what happened (\"hook.start\", \"sign\", ...). Required.\n"
	"  --decision D    append: \"allow\", \"deny\", \"would-deny\", \"error\" or \"info\". Required.\n"
	"  --object O      append: what the decision is about.\n"
	"  --reason R      append: why.\n"
	"  --no-sync       append: skip the fsync (faster, not crash-durable).\n"
	"  -h, --help      Print this help and exit.\n"
	"  --version       Print the version and exit.\n"
	"\n"
	"Exit status:\n"
	"  0  verify: the chain is intact; show/append: done.\n"
	"  1  verify: the chain is broken (the line on stderr names the seq).\n"
	"  2  usage error, or the file could not be read or written.\n"
	"\n"
	"Examples:\n"
	"  vmseal-audit verify /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit show --since 100 /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit show --json /var/log/vmseal/audit.jsonl | jq .decision\n"
	"  vmseal-audit append --actor ops --event note --decision info --reason 'disk swap' audit.jsonl\n"
	"\n"
	"Note: the chain cannot show that entries were cut off the end of the file; keep a copy of\n"
	"the last line (or its seq) elsewhere if that matters.\n";

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", PROG);
	return 2;
}

static int cmd_verify(int argc, char **argv)
{
	struct audit_verify_result res;
	struct vs_error err = {0};

	if (argc != 1)
		return usage_error("verify takes exactly one FILE");
	if (audit_verify(argv[0], &res, &err) < 0) {
		vs_error_print(PROG, &err);
		return vs_error_exit_code(&err);
	}
	if (res.torn_skipped)
		fprintf(stderr, "%s: warning: %s: %" PRIu64 " torn line(s) skipped, the first after seq %" PRIu64
			" (crash during an append; the chain resumes intact)\n",
			PROG, argv[0], res.torn_skipped, res.first_torn_after);
	printf("ok %" PRIu64 " entries\n", res.entries);
	return 0;
}

/* Copies s for a terminal: control characters become '?'. */
static void put_safe(const char *s, int width)
{
	int n = 0;

	for (; *s; s++, n++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	for (; n < width; n++)
		putchar(' ');
}

struct show_ctx {
	int json;
	const char *path;
	uint64_t shown;
};

static int show_entry(const struct audit_entry *e, const char *line, size_t len, void *arg)
{
	struct show_ctx *c = arg;
	char actor[20];

	c->shown++;
	if (c->json) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
		return 0;
	}
	/* keyids are 64 hex digits: the first 16 identify them well enough in a table */
	snprintf(actor, sizeof(actor), "%.16s", e->actor);
	if (strlen(e->actor) > 16)
		actor[15] = '~';
	printf("%6" PRIu64 "  %s  ", e->seq, e->time);
	put_safe(e->decision, 10);
	putchar(' ');
	put_safe(e->event, 16);
	putchar(' ');
	put_safe(actor, 16);
	putchar(' ');
	put_safe(e->object, 0);
	if (e->reason[0]) {
		fputs(": ", stdout);
		put_safe(e->reason, 0);
	}
	putchar('\n');
	return 0;
}

static void show_bad(uint64_t lineno, const struct vs_error *why, void *arg)
{
	struct show_ctx *c = arg;

	fprintf(stderr, "%s: warning: %s: line %" PRIu64 " skipped: %s\n", PROG, c->path, lineno,
		why->reason);
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct show_ctx c = {0};
	struct vs_error err = {0};
	uint64_t since = 0;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		char *end;

		switch (o) {
		case 's':
			since = strtoull(optarg, &end, 10);
			if (!*optarg || *end || optarg[0] == '-')
				return usage_error("--since \"%s\" is not a number", optarg);
			break;
		case 'j':
			c.json = 1;
			break;
		default:
			return usage_error("bad option for show");
		}
	}
	if (argc - optind != 1)
		return usage_error("show takes exactly one FILE");
	c.path = argv[optind];
	if (!c.json)
		printf("%6s  %-20s  %-10s %-16s %-16s %s\n", "SEQ", "TIME", "DECISION", "EVENT", "ACTOR",
		       "OBJECT: REASON");
	if (audit_foreach(c.path, since, show_entry, show_bad, &c, &err) != 0) {
		vs_error_print(PROG, &err);
		return 2;
	}
	return 0;
}

static int cmd_append(int argc, char **argv)
{
	static const struct option opts[] = {
		{"actor", required_argument, NULL, 'a'},
		{"event", required_argument, NULL, 'e'},
		{"decision", required_argument, NULL, 'd'},
		{"object", required_argument, NULL, 'o'},
		{"reason", required_argument, NULL, 'r'},
		{"no-sync", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	struct audit_event ev = {0};
	struct audit_log *log = NULL;
	struct vs_error err = {0};
	int o, durable = 1, ret;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'a': ev.actor = optarg; break;
		case 'e': ev.event = optarg; break;
		case 'd': ev.decision = optarg; break;
		case 'o': ev.object = optarg; break;
		case 'r': ev.reason = optarg; break;
		case 'n': durable = 0; break;
		default: return usage_error("bad option for append");
		}
	}
	if (argc - optind != 1)
		return usage_error("append takes exactly one FILE");
	if (!ev.actor || !ev.event || !ev.decision)
		return usage_error("append needs --actor, --event and --decision");
	if (audit_open(argv[optind], &log, &err) < 0) {
		vs_error_print(PROG, &err);
		return 2;
	}
	ret = audit_append_seq(log, &ev, durable, NULL, &err);
	audit_close(log);
	if (ret < 0) {
		vs_error_print(PROG, &err);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
		int pass_name; /* getopt wants argv[0] to be the command */
	} cmds[] = {
		{"verify", cmd_verify, 0},
		{"show", cmd_show, 1},
		{"append", cmd_append, 1},
	};

	if (argc < 2)
		return usage_error("missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		return cli_version(PROG);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		for (int a = 2; a < argc; a++)
			if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
				fputs(usage_text, stdout);
				return 0;
			}
		return cmds[i].pass_name ? cmds[i].fn(argc - 1, argv + 1) : cmds[i].fn(argc - 2, argv + 2);
	}
	return usage_error("unknown command \"%s\"", argv[1]);
}

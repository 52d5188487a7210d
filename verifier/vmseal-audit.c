/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-audit: verify, show and append to the hash-chained audit log. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "lib/audit.h"
#include "lib/auditcp.h"
#include "lib/cli.h"
#include "lib/error.h"
#include "lib/key.h"
#include "lib/limits.h"
#include "lib/util.h"

#define PROG "vmseal-audit"
#define DEFAULT_HEAD "/var/lib/vmseal/audit.head"

static const char usage_text[] =
	"Usage: vmseal-audit verify [--continues PREV | --prev-head HEX] [--head FILE]\n"
	"                           [--checkpoint F --checkpoint-key PUB]... FILE\n"
	"       vmseal-audit show [--since N] [--json] FILE\n"
	"       vmseal-audit append --actor A --event E --decision D [--object O] [--reason R]\n"
	"                           [--no-sync] FILE\n"
	"       vmseal-audit checkpoint --key KEY [--passphrase-file F] [-o OUT] FILE\n"
	"       vmseal-audit acknowledge --reason R [--head FILE] FILE\n"
	"       vmseal-audit rotate [--head FILE] FILE ROTATED\n"
	"       vmseal-audit --help | --version\n"
	"\n"
	"Checks and prints vmseal's audit log: JSON Lines, one event per line, each line carrying\n"
	"its sequence number (seq, from 1 without gaps) and the SHA-256 of the previous line\n"
	"(prev; 64 zeros for the first), so that editing, deleting or reordering any line except\n"
	"the last breaks the chain. The hook, the gateway and vmseal-sign/-verify append to it.\n"
	"The chain alone cannot show entries cut off the end, or a whole file replaced by another\n"
	"valid chain: anchors do (a head file, signed checkpoints).\n"
	"\n"
	"Commands:\n"
	"  verify FILE     Parse every line strictly and check the chain. Prints \"ok N entries\".\n"
	"                  On a broken chain prints one line naming the first broken seq:\n"
	"                    vmseal-audit: denied: FILE: seq 7: <reason>\n"
	"                  A torn last line (a crash in the middle of an append) is reported as\n"
	"                  broken at the seq it would have had; once a later append resumed the\n"
	"                  chain after it, the fragment is accepted and a warning goes to stderr.\n"
	"                  A log that does not start at seq 1 fails unless --continues or\n"
	"                  --prev-head says what it continues.\n"
	"  show FILE       Print the entries as a table (seq, time, decision, event, actor,\n"
	"                  object: reason). Does not check the chain: run verify for that.\n"
	"                  Lines that are not valid entries are skipped with a warning.\n"
	"  append FILE     Append one event (takes the log's lock, resumes after a torn line,\n"
	"                  fsyncs). For scripts and tests.\n"
	"  checkpoint FILE Verify the chain, then sign its head (seq and the hash of that line)\n"
	"                  with KEY and write the checkpoint (a DSSE envelope) to OUT or stdout.\n"
	"                  Keep checkpoints off the host: verify --checkpoint fails when the log\n"
	"                  no longer holds that entry (entries deleted and others appended, the\n"
	"                  end cut off, the file replaced).\n"
	"  acknowledge FILE\n"
	"                  After the hook refused starts with \"audit log truncated or replaced\":\n"
	"                  verify FILE's chain, append an audit.acknowledge event naming the old\n"
	"                  head and the reason, and move the head file (default " DEFAULT_HEAD ")\n"
	"                  to that event. Run it once you know what happened to the log.\n"
	"  rotate FILE ROTATED\n"
	"                  Rename FILE to ROTATED and continue the chain in a new FILE: ROTATED\n"
	"                  ends with an audit.rotate seal, FILE starts with an audit.continue entry\n"
	"                  linked to it. Appenders holding the old file follow. With --head, the\n"
	"                  hook's head file moves to the new FILE. Verify the new FILE on its own\n"
	"                  with --continues ROTATED (or --prev-head and the seal's hash).\n"
	"\n"
	"Options:\n"
	"  --continues PREV    verify: FILE continues the log PREV (verified too): its first entry\n"
	"                      must follow PREV's last one.\n"
	"  --prev-head HEX     verify: FILE continues a log whose last line has SHA-256 HEX.\n"
	"  --head FILE         verify: the head in FILE (the hook's) must still be in the log;\n"
	"                      acknowledge, rotate: the head file to move.\n"
	"  --checkpoint F      verify: a signed checkpoint the log must still hold (repeatable, up\n"
	"                      to 16); needs --checkpoint-key.\n"
	"  --checkpoint-key PUB  verify: public key (NAME.pub) that signed the checkpoints.\n"
	"  --key KEY           checkpoint: private key (NAME.key or a pkcs11: URI).\n"
	"  --passphrase-file F checkpoint: passphrase of KEY.\n"
	"  -o, --output OUT    checkpoint: write here (atomically, never overwriting).\n"
	"  --since N           show: only entries with seq >= N.\n"
	"  --json              show: print the raw JSON lines instead of the table.\n"
	"  --actor A           append: who acted (a keyid, \"hook\", a program name). Required.\n"
	"  --event E           append: what happened (\"hook.start\", \"sign\", ...). Required.\n"
	"  --decision D        append: \"allow\", \"deny\", \"would-deny\", \"error\" or \"info\". Required.\n"
	"  --object O          append: what the decision is about.\n"
	"  --reason R          append, acknowledge: why (acknowledge: required).\n"
	"  --no-sync           append: skip the fsync (faster, not crash-durable).\n"
	"  -h, --help          Print this help and exit.\n"
	"  --version           Print the version and exit.\n"
	"\n"
	"Exit status:\n"
	"  0  verify: the chain is intact and holds every anchor; other commands: done.\n"
	"  1  verify: the chain is broken or an anchor is missing (stderr names the seq);\n"
	"     checkpoint/acknowledge: the log does not verify.\n"
	"  2  usage error, or a file could not be read or written.\n"
	"\n"
	"Examples:\n"
	"  vmseal-audit verify /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit verify --head /var/lib/vmseal/audit.head /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit checkpoint --key keys/auditor.key -o cp-1.json /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit verify --checkpoint cp-1.json --checkpoint-key auditor.pub /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit rotate --head /var/lib/vmseal/audit.head /var/log/vmseal/audit.jsonl \\\n"
	"      /var/log/vmseal/audit.jsonl.1\n"
	"  vmseal-audit verify --continues /var/log/vmseal/audit.jsonl.1 /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit acknowledge --reason 'log lost in disk failure, ticket 42' /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit show --since 100 /var/log/vmseal/audit.jsonl\n"
	"  vmseal-audit append --actor ops --event note --decision info --reason 'disk swap' audit.jsonl\n";

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

static int fail_with(const struct vs_error *err)
{
	vs_error_print(PROG, err);
	return vs_error_exit_code(err);
}

/* The head file names its log as the hook does: an absolute path. */
static int absolute_path(const char *path, char *out, size_t outlen, struct vs_error *err)
{
	char cwd[VS_MAX_PATH_BYTES];

	if (path[0] == '/') {
		if (strlen(path) >= outlen)
			return vs_fail(err, VS_ERR_USAGE, path, "path too long");
		strcpy(out, path);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return vs_fail(err, VS_ERR_IO, path, "cannot get the working directory");
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if ((size_t)snprintf(out, outlen, "%s/%s", cwd, path) >= outlen)
		return vs_fail(err, VS_ERR_USAGE, path, "path too long");
	return 0;
}

static int load_checkpoint(const char *path, const struct vs_key *pub, struct audit_head *h,
			   struct vs_error *err)
{
	struct audit_checkpoint cp;
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (file_read_all(path, VS_MAX_CHECKPOINT_BYTES, &buf, &len, err) < 0)
		return -1;
	r = audit_checkpoint_open(buf, len, path, pub, &cp, err);
	free(buf);
	if (r == 0)
		*h = cp.head;
	return r;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"continues", required_argument, NULL, 'c'},
		{"prev-head", required_argument, NULL, 'P'},
		{"head", required_argument, NULL, 'H'},
		{"checkpoint", required_argument, NULL, 'k'},
		{"checkpoint-key", required_argument, NULL, 'K'},
		{NULL, 0, NULL, 0},
	};
	const char *continues = NULL, *prevhex = NULL, *headfile = NULL, *cpkey = NULL;
	const char *cpfiles[VS_MAX_AUDIT_CHECKPOINTS], *names[VS_MAX_AUDIT_CHECKPOINTS + 1];
	struct audit_head heads[VS_MAX_AUDIT_CHECKPOINTS + 1];
	struct audit_verify_opts vo = {0};
	struct audit_verify_result res;
	struct vs_error err = {0};
	struct vs_key *pub = NULL;
	size_t ncp = 0, nheads = 0;
	int o, rc = 2;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'c': continues = optarg; break;
		case 'P': prevhex = optarg; break;
		case 'H': headfile = optarg; break;
		case 'k':
			if (ncp == VS_MAX_AUDIT_CHECKPOINTS)
				return usage_error("at most %d --checkpoint", VS_MAX_AUDIT_CHECKPOINTS);
			cpfiles[ncp++] = optarg;
			break;
		case 'K': cpkey = optarg; break;
		default: return usage_error("bad option \"%s\" for verify (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (argc - optind != 1)
		return usage_error("verify takes exactly one FILE");
	if (continues && prevhex)
		return usage_error("--continues and --prev-head exclude each other");
	if (ncp && !cpkey)
		return usage_error("--checkpoint needs --checkpoint-key PUB");
	if (cpkey && !ncp)
		return usage_error("--checkpoint-key without --checkpoint");
	if (prevhex) {
		if (strlen(prevhex) != 64 || strspn(prevhex, "0123456789abcdef") != 64 ||
		    hex_decode(prevhex, vo.prev_hash, 32) < 0)
			return usage_error("--prev-head \"%.80s\" is not 64 lowercase hex digits", prevhex);
		vo.has_prev = 1;
	}
	if (continues) {
		struct audit_verify_opts po = {.any_start = 1};
		struct audit_verify_result pr;

		if (audit_verify_opts(continues, &po, &pr, &err) < 0) {
			vs_error_prefix(&err, "previous log");
			goto fail;
		}
		vo.has_prev = 1;
		vo.prev_seq = pr.head.seq;
		memcpy(vo.prev_hash, pr.head.hash, 32);
	}
	if (headfile) {
		char log[VS_MAX_PATH_BYTES];
		int exists;

		if (audit_head_load(headfile, log, sizeof(log), &heads[nheads], &exists, &err) < 0)
			goto fail;
		if (!exists) {
			vs_fail(&err, VS_ERR_IO, headfile, "no such head file");
			goto fail;
		}
		names[nheads++] = "the head file";
	}
	if (ncp) {
		if (key_load_public(cpkey, &pub, &err) < 0)
			goto fail;
		for (size_t i = 0; i < ncp; i++, nheads++) {
			if (load_checkpoint(cpfiles[i], pub, &heads[nheads], &err) < 0) {
				if (err.kind == VS_ERR_INPUT)
					err.kind = VS_ERR_DENIED;
				goto fail;
			}
			names[nheads] = cpfiles[i];
		}
	}
	vo.heads = heads;
	vo.nheads = nheads;
	vo.head_names = names;
	if (audit_verify_opts(argv[optind], &vo, &res, &err) < 0)
		goto fail;
	if (res.torn_skipped)
		fprintf(stderr, "%s: warning: %s: %" PRIu64 " torn line(s) skipped, the first after seq %" PRIu64
			" (crash during an append; the chain resumes intact)\n",
			PROG, argv[optind], res.torn_skipped, res.first_torn_after);
	if (res.first_seq > 1)
		printf("ok %" PRIu64 " entries (seq %" PRIu64 " to %" PRIu64 ", continuing a previous log)\n",
		       res.head.seq - res.first_seq + 1, res.first_seq, res.head.seq);
	else
		printf("ok %" PRIu64 " entries\n", res.entries);
	rc = 0;
	goto out;
fail:
	rc = fail_with(&err);
out:
	key_free(pub);
	return rc;
}

static int cmd_checkpoint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	const char *keyspec = NULL, *passfile = NULL, *out = NULL;
	struct audit_verify_result res;
	struct vs_error err = {0};
	struct vs_key *key = NULL;
	char *json = NULL;
	int o, rc = 2;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		switch (o) {
		case 'k': keyspec = optarg; break;
		case 'p': passfile = optarg; break;
		case 'o': out = optarg; break;
		default: return usage_error("bad option \"%s\" for checkpoint (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (argc - optind != 1)
		return usage_error("checkpoint takes exactly one FILE");
	if (!keyspec)
		return usage_error("checkpoint needs --key KEY");
	secrets_protect_process();
	/* Signing the head of a broken chain would vouch for whatever broke it. */
	if (audit_verify(argv[optind], &res, &err) < 0)
		goto fail;
	if (res.head.seq == 0) {
		vs_fail(&err, VS_ERR_INPUT, argv[optind], "empty log: nothing to checkpoint");
		goto fail;
	}
	if (key_load_private(keyspec, passfile, &key, &err) < 0)
		goto fail;
	json = audit_checkpoint_sign(argv[optind], &res.head, vs_now(), key, &err);
	if (!json)
		goto fail;
	if (out) {
		if (file_write_atomic(out, json, strlen(json), 0644, 0, &err) < 0)
			goto fail;
		printf("%s: checkpoint of %s at seq %" PRIu64 "\n", out, argv[optind], res.head.seq);
	} else {
		fputs(json, stdout);
	}
	rc = 0;
	goto done;
fail:
	rc = fail_with(&err);
done:
	free(json);
	key_free(key);
	return rc;
}

static int cmd_acknowledge(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"head", required_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	const char *reason = NULL, *headfile = DEFAULT_HEAD, *path;
	char oldlog[VS_MAX_PATH_BYTES] = "", why[VS_MAX_AUDIT_LINE_BYTES / 2], hex[VS_SHA256_HEX_BYTES];
	char abspath[VS_MAX_PATH_BYTES];
	struct audit_verify_result res;
	struct audit_head old, now;
	struct audit_log *log = NULL;
	struct vs_error err = {0};
	int o, exists, rc = 2;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'r': reason = optarg; break;
		case 'H': headfile = optarg; break;
		default: return usage_error("bad option \"%s\" for acknowledge (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (argc - optind != 1)
		return usage_error("acknowledge takes exactly one FILE");
	if (!reason || !reason[0])
		return usage_error("acknowledge needs --reason R (what happened to the log)");
	if (absolute_path(argv[optind], abspath, sizeof(abspath), &err) < 0)
		goto fail;
	path = abspath;
	if (audit_head_load(headfile, oldlog, sizeof(oldlog), &old, &exists, &err) < 0)
		goto fail;
	/* Whatever happened before, the log acknowledged from here on must be one chain. A log
	 * that is gone altogether starts afresh with the acknowledgement. */
	memset(&res, 0, sizeof(res));
	if (access(path, F_OK) == 0 && audit_verify(path, &res, &err) < 0)
		goto fail;
	hex_encode(old.hash, 32, hex);
	if (exists)
		snprintf(why, sizeof(why), "head was %s seq %" PRIu64 " (%.16s…), log now ends at seq %" PRIu64 ": %s",
			 oldlog, old.seq, hex, res.head.seq, reason);
	else
		snprintf(why, sizeof(why), "no head file %s, log ends at seq %" PRIu64 ": %s", headfile,
			 res.head.seq, reason);
	if (audit_open(path, &log, &err) < 0 ||
	    audit_append(log, &(struct audit_event){.actor = "vmseal-audit", .event = AUDIT_EVENT_ACK,
						   .object = path, .decision = "info", .reason = why},
			 &err) < 0)
		goto fail;
	audit_log_head(log, &now);
	if (audit_head_save(headfile, path, &now, &err) < 0)
		goto fail;
	printf("acknowledged: %s: head moved to seq %" PRIu64 " (%s)\n", path, now.seq, headfile);
	rc = 0;
	goto out;
fail:
	rc = fail_with(&err);
out:
	audit_close(log);
	return rc;
}

static int cmd_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"head", required_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	const char *headfile = NULL;
	char abspath[VS_MAX_PATH_BYTES];
	struct audit_head seal, cont;
	struct vs_error err = {0};
	char hex[VS_SHA256_HEX_BYTES];
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'H': headfile = optarg; break;
		default: return usage_error("bad option \"%s\" for rotate (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (argc - optind != 2)
		return usage_error("rotate takes FILE and ROTATED");
	if (audit_rotate(argv[optind], argv[optind + 1], "vmseal-audit", &seal, &cont, &err) < 0)
		return fail_with(&err);
	if (headfile && (absolute_path(argv[optind], abspath, sizeof(abspath), &err) < 0 ||
			 audit_head_save(headfile, abspath, &cont, &err) < 0))
		return fail_with(&err);
	hex_encode(seal.hash, 32, hex);
	printf("rotated: %s sealed at seq %" PRIu64 " (head %s), %s continues at seq %" PRIu64 "\n",
	       argv[optind + 1], seal.seq, hex, argv[optind], cont.seq);
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

	int wants_json = cli_wants_json(argc, argv);

	optind = 1;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			if (parse_uint_strict(optarg, 0, UINT64_MAX, &since) < 0)
				return cli_usage_error_json(PROG, wants_json, "--since \"%s\" is not a number", optarg);
			break;
		case 'j':
			c.json = 1;
			break;
		default:
			return cli_usage_error_json(PROG, wants_json, "bad option \"%s\" for show (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (argc - optind != 1)
		return cli_usage_error_json(PROG, wants_json, "show takes exactly one FILE");
	c.path = argv[optind];
	if (!c.json)
		printf("%6s  %-20s  %-10s %-16s %-16s %s\n", "SEQ", "TIME", "DECISION", "EVENT", "ACTOR",
		       "OBJECT: REASON");
	if (audit_foreach(c.path, since, show_entry, show_bad, &c, &err) != 0) {
		/* show --json writes JSON Lines: an error is one more line, an object with "error". */
		if (c.json) {
			json_t *o = json_pack("{s:s, s:s, s:s}", "decision", "error", "error", "io", "reason", err.reason);
			char *t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

			if (t)
				printf("%s\n", t);
			free(t);
			json_decref(o);
		}
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
		default: return usage_error("bad option \"%s\" for append (unknown, or missing its value)", cli_bad_option(argv));
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
		{"verify", cmd_verify, 1},
		{"show", cmd_show, 1},
		{"append", cmd_append, 1},
		{"checkpoint", cmd_checkpoint, 1},
		{"acknowledge", cmd_acknowledge, 1},
		{"rotate", cmd_rotate, 1},
	};

	if (argc < 2)
		return usage_error("missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cli_version(PROG);
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

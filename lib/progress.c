/* SPDX-License-Identifier: Apache-2.0 */
/* Progress on stderr for long image reads: bytes done, rate, ETA (one printer for every CLI). */
#include "progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull
#define NAME_SHOWN 40

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void progress_init(struct progress *p, enum progress_mode mode, FILE *out, const char *prog,
		   const char *name)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->prog = prog;
	p->name = name;
	p->mode = mode;
	p->tty = isatty(fileno(out));
	p->start_ns = mono_ns();
}

void progress_attach(struct progress *p, struct merkle_opts *mo)
{
	if (p->mode == PROGRESS_OFF || (p->mode == PROGRESS_AUTO && !p->tty))
		return;
	mo->progress = progress_update;
	mo->progress_arg = p;
}

void progress_format_bytes(uint64_t n, char *out, size_t outlen)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%llu B", (unsigned long long)n);
	else
		snprintf(out, outlen, "%.1f %s", v, units[u]);
}

void progress_format_eta(uint64_t s, char *out, size_t outlen)
{
	if (s >= 3600)
		snprintf(out, outlen, "%llu:%02u:%02u", (unsigned long long)(s / 3600),
			 (unsigned)(s / 60 % 60), (unsigned)(s % 60));
	else
		snprintf(out, outlen, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

/* The last NAME_SHOWN bytes of the file's base name, control characters replaced by '?', so a
 * hostile name can neither move the cursor nor wrap the redrawn line. */
static void shown_name(const char *name, char out[static NAME_SHOWN + 4])
{
	const char *base = strrchr(name, '/');
	size_t len, i, o = 0;

	base = base && base[1] ? base + 1 : name;
	len = strlen(base);
	if (len > NAME_SHOWN) {
		memcpy(out, "...", 3);
		o = 3;
		base += len - NAME_SHOWN;
	}
	for (i = 0; base[i]; i++)
		out[o++] = (unsigned char)base[i] < 0x20 || base[i] == 0x7f ? '?' : base[i];
	out[o] = '\0';
}

void progress_update(uint64_t done, uint64_t total, void *arg)
{
	struct progress *p = arg;
	uint64_t now = mono_ns(), elapsed = now - p->start_ns, rate = 0;
	int final = done >= total;
	char sdone[24], stotal[24], srate[24], seta[32], name[NAME_SHOWN + 4];

	if (p->finished)
		return;
	if (p->mode == PROGRESS_AUTO && (!p->tty || total <= PROGRESS_AUTO_MIN_BYTES))
		return;
	if (!final && p->last_ns && now - p->last_ns < (p->tty ? NS_PER_S / 10 : NS_PER_S))
		return;
	p->last_ns = now;
	/* Early in a read the rate is noise; at the end it is the true average. */
	if (elapsed >= NS_PER_S / 100 || (final && elapsed > 0))
		rate = (uint64_t)((double)done * NS_PER_S / (double)elapsed);
	progress_format_bytes(done, sdone, sizeof(sdone));
	progress_format_bytes(total, stotal, sizeof(stotal));
	progress_format_bytes(rate, srate, sizeof(srate));
	if (final)
		progress_format_eta((elapsed + NS_PER_S / 2) / NS_PER_S, seta, sizeof(seta));
	else if (rate)
		progress_format_eta((total - done + rate - 1) / rate, seta, sizeof(seta));
	else
		snprintf(seta, sizeof(seta), "--:--");
	shown_name(p->name, name);
	/* \033[K clears what a longer earlier line left on the right. */
	fprintf(p->out, "%s%s: %s: %s of %s (%u%%), %s/s, %s %s%s", p->tty ? "\r" : "", p->prog, name,
		sdone, stotal, total ? (unsigned)(done * 100 / total) : 100u, rate ? srate : "-- B",
		final ? "done in" : "ETA", seta, p->tty ? "\033[K" : "\n");
	p->line_open = p->tty;
	if (final) {
		progress_end(p);
		p->finished = 1;
	}
	fflush(p->out);
}

void progress_end(struct progress *p)
{
	if (p->line_open) {
		fputc('\n', p->out);
		fflush(p->out);
		p->line_open = 0;
	}
}

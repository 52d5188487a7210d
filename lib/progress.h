/* SPDX-License-Identifier: Apache-2.0 */
/* Progress on stderr for long image reads: bytes done, rate, ETA (one printer for every CLI). */
#ifndef VMSEAL_PROGRESS_H
#define VMSEAL_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "merkle.h"

/* Images at or below this size finish quickly: automatic progress stays quiet for them. */
#define PROGRESS_AUTO_MIN_BYTES (1ull << 30)

enum progress_mode {
	PROGRESS_AUTO = 0, /* on when the output is a terminal and the image is over 1 GiB */
	PROGRESS_ON,       /* --progress: always */
	PROGRESS_OFF,      /* --no-progress: never */
};

struct progress {
	FILE *out;
	const char *prog;
	const char *name;
	enum progress_mode mode;
	int tty;        /* out is a terminal: redraw one line with \r; otherwise one line per update */
	int line_open;  /* a \r line is on screen without its newline */
	int finished;
	uint64_t start_ns, last_ns;
};

/* Prepares p for one image. out is normally stderr; prog and name must outlive p. */
void progress_init(struct progress *p, enum progress_mode mode, FILE *out, const char *prog,
		   const char *name);

/* Points mo's progress callback at p (no change when mode is PROGRESS_OFF). */
void progress_attach(struct progress *p, struct merkle_opts *mo);

/* The merkle_opts callback: redraws at most ten times a second on a terminal, once a second
 * otherwise, and always at done == total. */
void progress_update(uint64_t done, uint64_t total, void *arg);

/* Ends an unfinished terminal line (after a failure), so the next message starts clean. */
void progress_end(struct progress *p);

/* Formats n bytes with a binary unit ("812.0 MiB"); for tests and messages. */
void progress_format_bytes(uint64_t n, char *out, size_t outlen);

/* Formats a duration in seconds as "M:SS" or "H:MM:SS". */
void progress_format_eta(uint64_t seconds, char *out, size_t outlen);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The allow-list table itself, for the tests (tests/unit/test_domallow.c) only. */
#ifndef VMSEAL_DOMALLOW_PRIV_H
#define VMSEAL_DOMALLOW_PRIV_H

#include "domallow.h"

struct domallow_walk;
struct _xmlNode;

/* Values of one attribute admitted by one launch.allow opt-in. */
struct domallow_optin_values {
	const char *values; /* space separated */
	unsigned bit;       /* the launch.allow bit */
	const char *why;    /* their risk, for the denial */
};

/* An attribute whose values are harmless, admitted by an opt-in, or refused (anything else,
 * and a missing attribute, too). */
struct domallow_values {
	const char *attr;     /* "type" */
	const char *what;     /* "graphics type", for the refusal */
	const char *harmless; /* space separated */
	struct domallow_optin_values optin[2];
};

struct domallow_entry {
	/* Element path below <domain>, "devices/disk/source"; "*\/x/y" matches x/y under any
	 * parent. A <backingStore> inside a <backingStore> has the path of the outer one. */
	const char *path;
	enum domallow_class cls;
	const char *attrs;  /* attributes that name nothing on the host, space separated */
	const char *paths;  /* attributes naming a host path ("#text": the element's text) */
	unsigned optin;     /* DOMALLOW_OPTIN: the launch.allow bit that admits it */
	unsigned flags;     /* DA_* */
	int (*rule)(struct domallow_walk *w, struct _xmlNode *n); /* value rules; NULL: none */
	const char *why;    /* OPTIN / REFUSED: the risk, for the denial */
	const struct domallow_values *values; /* one attribute's allowed values; NULL: none */
};

/* Below this element anything goes (guest-visible tuning libvirt documents as such), except
 * attributes named like host paths (file, path, dev, socket, dir …) and text starting with
 * '/', which must match an entry of their own. */
#define DA_SUBTREE 1u
/* Skip the whole subtree (<metadata>: libvirt stores it and never interprets it). */
#define DA_SKIP 2u

const struct domallow_entry *domallow_table(size_t *n);

/* Is word one of list's space-separated words? (how the table's lists are read) */
int domallow_has_word(const char *list, const char *word);

/* Attribute names libvirt uses for host paths: a DA_SUBTREE refuses them without an entry. */
extern const char *const domallow_pathy_attrs;

/* The entry an element path matches, as domallow_check() looks it up; NULL when none. */
const struct domallow_entry *domallow_lookup(const char *path);

#endif

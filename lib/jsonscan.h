/* SPDX-License-Identifier: Apache-2.0 */
/* A one-pass JSON check that builds no tree: where the parts of a big document lie. */
#ifndef VMSEAL_JSONSCAN_H
#define VMSEAL_JSONSCAN_H

#include <stddef.h>

/* One element of the scanned array: its bytes, and the value of its member "id" when that can
 * be read without decoding anything (see jsonscan_index). */
struct jsonscan_elem {
	size_t off, len;       /* the element's text, json[off, off + len) */
	size_t id_off, id_len; /* the id string's characters (no quotes); id_len 0: not found plainly */
};

struct jsonscan_index {
	size_t arr_off, arr_len; /* the array's text, brackets included; arr_len 0: no such member */
	size_t arr_lines;        /* line breaks in that text */
	struct jsonscan_elem *elems;
	size_t nelems;
};

/* Reads json[0, len) as jansson's json_loadb does (RFC 8259: UTF-8 checked, no NUL in strings,
 * lone surrogates refused, integers within int64, reals finite, depth at most
 * JSON_PARSER_MAX_DEPTH, nothing but white space after the value) and, when the text is an
 * object with a member named `array` whose value is an array of at most max_elems elements,
 * records where that array and each of its elements lie. For an element that is an object with
 * exactly one member "id" whose value is a string without escapes, id_off/id_len locate that
 * string: an element whose names use escapes, or whose id is not such a string, has id_len 0.
 * A member named `array` found twice, or any top-level member name with escapes, gives up.
 *
 * Returns 1 with *out filled (free with jsonscan_index_free); 0 when the text is not such a
 * document or is not valid JSON, or out of memory: the caller then parses it the ordinary way,
 * which names the error. Duplicate member names are not looked for: the caller's parser, given
 * the text without the array, and each element's parser find them. */
int jsonscan_index(const char *json, size_t len, const char *array, size_t max_elems,
		   struct jsonscan_index *out);

void jsonscan_index_free(struct jsonscan_index *ix);

#endif

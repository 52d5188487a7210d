/* SPDX-License-Identifier: Apache-2.0 */
/* In-process cost of reading a policy (bench/policy_scale.sh): jansson's json_loadb alone (the
 * floor of any parse that builds jansson's tree), policy_parse (every key decoded) and
 * policy_parse_opts(POLICY_LAZY_KEYS). Prints "json full lazy" in ms, each the best of N runs.
 * usage: policy_parse_bench POLICY [N] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/policy.h"
#include "lib/util.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	double best[3] = {1e9, 1e9, 1e9};
	struct vs_error err = {0};
	int n = argc > 2 ? atoi(argv[2]) : 10;
	char *buf = NULL;
	size_t len;

	if (argc < 2 || file_read_all(argv[1], VS_MAX_POLICY_BYTES, &buf, &len, &err) < 0) {
		fprintf(stderr, "policy_parse_bench: %s: %s\n", err.object, err.reason);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		for (int m = 0; m < 3; m++) {
			struct policy *p = NULL;
			json_error_t jerr;
			json_t *root = NULL;
			double t0 = now_ms(), t;
			int r;

			if (m == 0)
				r = (root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ? 0 : -1;
			else
				r = policy_parse_opts(buf, len, argv[1], m == 2 ? POLICY_LAZY_KEYS : 0, &p, &err);
			t = now_ms() - t0;
			json_decref(root);
			policy_free(p);
			if (r < 0) {
				fprintf(stderr, "policy_parse_bench: %s: %s\n", argv[1], err.reason);
				return 1;
			}
			if (t < best[m])
				best[m] = t;
		}
	}
	printf("%.2f %.2f %.2f\n", best[0], best[1], best[2]);
	free(buf);
	return 0;
}

/* runner.c - runs every registered Check suite; CK_RUN_SUITE selects one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"

#define MAX_SUITES 128

static ftoe_suite_fn suites[MAX_SUITES];
static int nr_suites;

void ftoe_test_register(ftoe_suite_fn fn)
{
	if (nr_suites == MAX_SUITES) {
		fprintf(stderr, "runner: more than %d suites; raise MAX_SUITES\n", MAX_SUITES);
		abort();
	}
	suites[nr_suites++] = fn;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define FTOE_TEST_SANITIZED 1
#else
#define FTOE_TEST_SANITIZED 0
#endif

unsigned long ftoe_test_scaled(unsigned long n)
{
	const char *full = getenv("FTOE_TEST_FULL");

	if (!FTOE_TEST_SANITIZED || (full && !strcmp(full, "1")))
		return n;
	return n >= 10 ? n / 10 : 1;
}

const char *ftoe_test_path(const char *rel)
{
	static __thread char buf[4096];
	const char *build = getenv("FTOE_BUILD");

	snprintf(buf, sizeof(buf), "%s/%s", build ? build : "build", rel);
	return buf;
}

/*
 * No argument: every suite in this process.  "--count": print how many
 * suites there are.  "--index N": only the N-th (tests/unit/each.sh runs
 * them one process each: under ASan a long-lived runner process, which
 * forks for every test, grows until each fork and leak check is slow).
 */
int main(int argc, char **argv)
{
	SRunner *sr;
	int failed, first = 0, last = nr_suites;

	if (!nr_suites) {
		fprintf(stderr, "runner: no suites registered\n");
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "--count")) {
		printf("%d\n", nr_suites);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--index")) {
		char *end;
		long i = strtol(argv[2], &end, 10);

		if (*end || i < 0 || i >= nr_suites) {
			fprintf(stderr, "runner: --index wants 0..%d\n", nr_suites - 1);
			return 2;
		}
		first = (int)i;
		last = first + 1;
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--count | --index N]\n", argv[0]);
		return 2;
	}
	sr = srunner_create(suites[first]());
	for (int i = first + 1; i < last; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

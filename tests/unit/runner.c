/* runner.c - runs every registered Check suite; CK_RUN_SUITE selects one. */
#include <stdio.h>
#include <stdlib.h>

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

const char *ftoe_test_path(const char *rel)
{
	static __thread char buf[4096];
	const char *build = getenv("FTOE_BUILD");

	snprintf(buf, sizeof(buf), "%s/%s", build ? build : "build", rel);
	return buf;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!nr_suites) {
		fprintf(stderr, "runner: no suites registered\n");
		return 1;
	}
	sr = srunner_create(suites[0]());
	for (int i = 1; i < nr_suites; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

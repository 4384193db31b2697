/* test.h - registration of Check suites into the single unit-test runner.
 *
 * Each test file ends with FTOE_TEST_SUITE(fn), where fn builds its Suite;
 * the runner (runner.c) collects every registered suite, so adding a file
 * needs no central list.
 */
#ifndef FTOE_TESTS_UNIT_TEST_H
#define FTOE_TESTS_UNIT_TEST_H

#include <check.h>

typedef Suite *(*ftoe_suite_fn)(void);
void ftoe_test_register(ftoe_suite_fn fn);

#define FTOE_TEST_SUITE(fn)                                                    \
	static void __attribute__((constructor)) register_##fn(void)          \
	{                                                                      \
		ftoe_test_register(fn);                                        \
	}

/* The size of a big loop or data set: n in the plain build, n / 10 (at
 * least 1) in the sanitized build (build/san), which runs the same tests to
 * find memory and undefined-behaviour errors, not to prove scale; the plain
 * build proves scale.  FTOE_TEST_FULL=1 in the environment gives n there too. */
unsigned long ftoe_test_scaled(unsigned long n);

/* Path of a built test artifact: $FTOE_BUILD (default "build") + rel. */
const char *ftoe_test_path(const char *rel);

#endif

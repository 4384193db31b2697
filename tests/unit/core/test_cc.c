/* test_cc.c - the congestion-control table: lookup by name, arguments, the names list, state sizes. */
#include <errno.h>
#include <string.h>

#include "core/control/cc.h"
#include "core/engine.h"
#include "tests/unit/test.h"

START_TEST(parse_names_and_args)
{
	const struct ftoe_cc_ops *ops = NULL;
	uint64_t param = 7;

	ck_assert_int_eq(ftoe_cc_parse("dctcp", &ops, &param), 0);
	ck_assert_ptr_eq(ops, &ftoe_cc_dctcp);
	ck_assert_uint_eq(param, 0);
	ck_assert_int_eq(ftoe_cc_parse("timely", &ops, &param), 0);
	ck_assert_ptr_eq(ops, &ftoe_cc_timely);
	ck_assert_int_eq(ftoe_cc_parse("const:10g", &ops, &param), 0);
	ck_assert_ptr_eq(ops, &ftoe_cc_const);
	ck_assert_uint_eq(param, 10000000000ull);
	ck_assert_int_eq(ftoe_cc_parse("const:500m", &ops, &param), 0);
	ck_assert_uint_eq(param, 500000000ull);
	ck_assert_int_eq(ftoe_cc_parse("const", &ops, &param), 0);
	ck_assert_uint_eq(param, 0);	/* unpaced */
	/* Unknown names and prefixes of names are not algorithms. */
	ops = NULL;
	ck_assert_int_eq(ftoe_cc_parse("cubic", &ops, &param), 0);
	ck_assert_ptr_eq(ops, &ftoe_cc_cubic);
	ck_assert_int_eq(ftoe_cc_parse("cubic:1", &ops, &param), -EINVAL);
	ops = NULL;
	ck_assert_int_eq(ftoe_cc_parse("reno", &ops, &param), -ENOENT);
	ck_assert_int_eq(ftoe_cc_parse("dct", &ops, &param), -ENOENT);
	ck_assert_int_eq(ftoe_cc_parse("", &ops, &param), -ENOENT);
	ck_assert_int_eq(ftoe_cc_parse(":5", &ops, &param), -ENOENT);
	/* Bad or unexpected arguments. */
	ck_assert_int_eq(ftoe_cc_parse("const:", &ops, &param), -EINVAL);
	ck_assert_int_eq(ftoe_cc_parse("const:0", &ops, &param), -EINVAL);
	ck_assert_int_eq(ftoe_cc_parse("const:10x", &ops, &param), -EINVAL);
	ck_assert_int_eq(ftoe_cc_parse("const:-1", &ops, &param), -EINVAL);
	ck_assert_int_eq(ftoe_cc_parse("const:99999999999g", &ops, &param), -EINVAL);
	ck_assert_int_eq(ftoe_cc_parse("dctcp:1", &ops, &param), -EINVAL);
	ck_assert_ptr_null(ops);
}
END_TEST

START_TEST(names_list_the_table)
{
	char buf[256];
	const struct ftoe_cc_ops *ops;
	unsigned n = 0;

	ck_assert_int_eq(ftoe_cc_names(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "dctcp, timely, const[:RATE], cubic, newreno, cubic-rate, bbr");
	ck_assert_int_eq(ftoe_cc_names(buf, 10), -ENOSPC);
	for (unsigned i = 0; (ops = ftoe_cc_at(i)); i++, n++) {
		ck_assert_ptr_eq(ftoe_cc_find(ops->name, strlen(ops->name)), ops);
		/* every algorithm's state fits the per-flow area */
		ck_assert_uint_le(ops->priv_size, FTOE_CC_PRIV_SIZE);
		ck_assert_ptr_nonnull(ops->init);
		ck_assert_ptr_nonnull(ops->summary);
		ck_assert(!ops->arg_name == !ops->parse_arg);
	}
	ck_assert_uint_eq(n, 7);
}
END_TEST

START_TEST(const_keeps_its_rate)
{
	uint64_t priv[FTOE_CC_PRIV_SIZE / 8];

	ck_assert_uint_eq(ftoe_cc_const.init(priv, 123456000ull, 50), 123456);
	ck_assert_ptr_null(ftoe_cc_const.on_rtt);
	ck_assert_ptr_null(ftoe_cc_const.on_interval);
	ck_assert_uint_eq(ftoe_cc_const.init(priv, 0, 50), 0);	/* unpaced */
}
END_TEST

static Suite *cc_suite(void)
{
	Suite *s = suite_create("core_cc");
	TCase *tc = tcase_create("cc");

	tcase_add_test(tc, parse_names_and_args);
	tcase_add_test(tc, names_list_the_table);
	tcase_add_test(tc, const_keeps_its_rate);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(cc_suite)

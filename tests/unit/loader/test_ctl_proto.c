/* test_ctl_proto.c - the one lists of include/flextoe: control requests with their rights, hook names. */
#include <string.h>

#include <flextoe/bpf.h>
#include <flextoe/ctl.h>

#include "tests/unit/test.h"

START_TEST(ops_names_and_rights)
{
	static const char *const writes[] = { "load", "unload", "ring_read", "map_update",
					      "map_delete", "map_update_batch", "map_delete_batch" };
	static const char *const reads[] = { "hello", "list", "map_list", "map_dump",
					     "map_lookup", "stats", "conns", "map_lookup_batch" };

	for (unsigned i = 0; i < 8; i++) {
		enum flextoe_ctl_op r = flextoe_ctl_op_by_name(reads[i]);

		/* flextoe-stat's requests are open like list (docs/operating.md) */
		ck_assert_int_ne(r, FLEXTOE_CTL_OP_NONE);
		ck_assert_int_eq(flextoe_ctl_op_desc(r)->perm, FLEXTOE_CTL_READ);
	}
	for (unsigned i = 0; i < 5; i++) {
		enum flextoe_ctl_op w = flextoe_ctl_op_by_name(writes[i]);
		enum flextoe_ctl_op r = flextoe_ctl_op_by_name(reads[i]);

		ck_assert_int_ne(w, FLEXTOE_CTL_OP_NONE);
		ck_assert_int_ne(r, FLEXTOE_CTL_OP_NONE);
		ck_assert_int_eq(flextoe_ctl_op_desc(w)->perm, FLEXTOE_CTL_WRITE);
		ck_assert_int_eq(flextoe_ctl_op_desc(r)->perm, FLEXTOE_CTL_READ);
		ck_assert_str_eq(flextoe_ctl_op_name(w), writes[i]);
		ck_assert_ptr_nonnull(flextoe_ctl_op_desc(w)->what);
	}
	/* fifteen requests, every one named and unique */
	ck_assert_int_eq(FLEXTOE_CTL_OP__MAX - 1, 15);
	for (unsigned i = 5; i < 7; i++)
		ck_assert_int_eq(flextoe_ctl_op_desc(flextoe_ctl_op_by_name(writes[i]))->perm,
				 FLEXTOE_CTL_WRITE);
	for (int a = 1; a < FLEXTOE_CTL_OP__MAX; a++)
		ck_assert_int_eq(flextoe_ctl_op_by_name(flextoe_ctl_op_name(a)), a);
	ck_assert_int_eq(flextoe_ctl_op_by_name("map_"), FLEXTOE_CTL_OP_NONE);
	ck_assert_int_eq(flextoe_ctl_op_by_name(NULL), FLEXTOE_CTL_OP_NONE);
	ck_assert_ptr_null(flextoe_ctl_op_desc(FLEXTOE_CTL_OP_NONE));
	ck_assert_ptr_null(flextoe_ctl_op_desc(FLEXTOE_CTL_OP__MAX));
}
END_TEST

START_TEST(hook_names)
{
	char buf[64];

	ck_assert_int_eq(flextoe_hook_id("rx-pre"), FLEXTOE_HOOK_RX_PRE);
	ck_assert_int_eq(flextoe_hook_id("tx-post"), FLEXTOE_HOOK_TX_POST);
	ck_assert_int_eq(flextoe_hook_id("rx"), FLEXTOE_HOOK_NONE);
	ck_assert_int_eq(flextoe_hook_id(NULL), FLEXTOE_HOOK_NONE);
	ck_assert_str_eq(flextoe_hook_name_of(FLEXTOE_HOOK_RX_POST), "rx-post");
	ck_assert_ptr_null(flextoe_hook_name_of(FLEXTOE_HOOK_MAX));
	ck_assert_str_eq(flextoe_hook_names(buf, sizeof(buf), " or "),
			 "rx-pre, rx-post or tx-post");
	/* truncation stays a string */
	flextoe_hook_names(buf, 8, " and ");
	ck_assert_uint_lt(strlen(buf), 8);
}
END_TEST

static Suite *ctl_proto_suite(void)
{
	Suite *s = suite_create("loader_ctl_proto");
	TCase *tc = tcase_create("lists");

	tcase_add_test(tc, ops_names_and_rights);
	tcase_add_test(tc, hook_names);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(ctl_proto_suite)

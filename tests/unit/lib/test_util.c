/* test_util.c - lib/util's shared hex parser/encoder and whole-file reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/file.h"
#include "lib/util/hex.h"
#include "tests/unit/test.h"

START_TEST(hex_parse_forms)
{
	uint8_t b[4];

	ck_assert_int_eq(ftoe_hex_parse("0a000009", b, 4), 0);
	ck_assert_mem_eq(b, "\x0a\x00\x00\x09", 4);
	ck_assert_int_eq(ftoe_hex_parse("0xDEADbeef", b, 4), 0);
	ck_assert_mem_eq(b, "\xde\xad\xbe\xef", 4);
	ck_assert_int_eq(ftoe_hex_parse("01:02 03:04", b, 4), 0);
	ck_assert_mem_eq(b, "\x01\x02\x03\x04", 4);
	/* wrong length, odd digits, non-hex */
	ck_assert_int_eq(ftoe_hex_parse("010203", b, 4), -EINVAL);
	ck_assert_int_eq(ftoe_hex_parse("0102030405", b, 4), -EINVAL);
	ck_assert_int_eq(ftoe_hex_parse("0102030", b, 4), -EINVAL);
	ck_assert_int_eq(ftoe_hex_parse("0102030g", b, 4), -EINVAL);
	ck_assert_int_eq(ftoe_hex_digit('F'), 15);
	ck_assert_int_eq(ftoe_hex_digit('x'), -1);
}
END_TEST

START_TEST(hex_encode_decode_round_trip)
{
	uint8_t in[256], *out = NULL;
	size_t len = 0;
	char *s;

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	s = ftoe_hex_encode(in, sizeof(in));
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), 512);
	ck_assert_int_eq(strncmp(s, "030a11", 6), 0);
	ck_assert_int_eq(ftoe_hex_decode(s, &out, &len), 0);
	ck_assert_uint_eq(len, 256);
	ck_assert_mem_eq(out, in, 256);
	free(out);
	free(s);
	/* the strict form: no prefix, no separators, even length */
	ck_assert_int_eq(ftoe_hex_decode("0x01", &out, &len), -EINVAL);
	ck_assert_int_eq(ftoe_hex_decode("01 02", &out, &len), -EINVAL);
	ck_assert_int_eq(ftoe_hex_decode("012", &out, &len), -EINVAL);
	ck_assert_int_eq(ftoe_hex_decode("", &out, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(out);
}
END_TEST

START_TEST(read_file_cases)
{
	char path[] = "/tmp/ftoe-util-XXXXXX";
	int fd = mkstemp(path), err = 1;
	size_t len = 1, n = 100000;
	char *big = malloc(n), *b;

	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i % 251);
	ck_assert_int_eq(write(fd, big, n), (ssize_t)n);
	close(fd);
	b = ftoe_read_file(path, &len, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(b, big, n);
	ck_assert_int_eq(b[n], 0);	/* NUL after the bytes */
	free(b);
	/* empty file */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	b = ftoe_read_file(path, &len, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(len, 0);
	free(b);
	unlink(path);
	ck_assert_ptr_null(ftoe_read_file(path, &len, &err));
	ck_assert_int_eq(err, -ENOENT);
	ck_assert_ptr_null(ftoe_read_file("/tmp", &len, &err));
	ck_assert_int_eq(err, -EISDIR);
	free(big);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("lib_util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, hex_parse_forms);
	tcase_add_test(tc, hex_encode_decode_round_trip);
	tcase_add_test(tc, read_file_cases);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(util_suite)

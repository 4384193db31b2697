/* test_util.c - lib/util's shared hex parser/encoder, whole-file reader and peer credentials. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util/file.h"
#include "lib/util/hex.h"
#include "lib/util/peercred.h"
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

START_TEST(peercred_pure_checks)
{
	struct ftoe_peer p = { .pid = 1, .uid = 65534, .gid = 65534, .ngroups = 2,
			       .groups = { 27, 4242 } };
	uint64_t caps;
	gid_t g;

	ck_assert(ftoe_peer_in_group(&p, 65534));	/* primary */
	ck_assert(ftoe_peer_in_group(&p, 4242));	/* supplementary */
	ck_assert(!ftoe_peer_in_group(&p, 0));
	p.ngroups = 1;
	ck_assert(!ftoe_peer_in_group(&p, 4242));	/* only the first ngroups count */

	ck_assert_int_eq(ftoe_status_capeff("Name:\tx\nCapInh:\t0\nCapEff:\t0000000000000400\n"
					    "CapBnd:\t000001ffffffffff\n", &caps), 0);
	ck_assert_uint_eq(caps, 0x400);
	ck_assert_int_eq(ftoe_status_capeff("CapEff:\t000001ffffffffff", &caps), 0);
	ck_assert_uint_eq(caps, 0x1ffffffffffull);
	ck_assert_int_eq(ftoe_status_capeff("Name:\tx\nCapPrm:\t0400\n", &caps), -EINVAL);
	ck_assert_int_eq(ftoe_status_capeff("CapEff:\tzz\n", &caps), -EINVAL);
	ck_assert_int_eq(ftoe_status_capeff("CapEff:\t04x0\n", &caps), -EINVAL);
	ck_assert_int_eq(ftoe_status_capeff("XCapEff:\t0400\n", &caps), -EINVAL);

	ck_assert_int_eq(ftoe_group_parse("root", &g), 0);
	ck_assert_uint_eq(g, 0);
	ck_assert_int_eq(ftoe_group_parse("4242", &g), 0);
	ck_assert_uint_eq(g, 4242);
	ck_assert_int_eq(ftoe_group_parse("no-such-group-ftoe", &g), -ENOENT);
	ck_assert_int_eq(ftoe_group_parse("-5", &g), -ENOENT);
	ck_assert_int_eq(ftoe_group_parse("12x", &g), -ENOENT);
	ck_assert_int_eq(ftoe_group_parse("", &g), -EINVAL);
}
END_TEST

/* Our own credentials over a socketpair (its peer is this process). */
START_TEST(peercred_of_a_live_peer)
{
	struct ftoe_peer p;
	uint64_t caps, mine;
	size_t len;
	char *st;
	int sv[2], err, r;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ck_assert_int_eq(ftoe_peer_get(sv[0], &p), 0);
	ck_assert_int_eq(p.pid, getpid());
	ck_assert_uint_eq(p.uid, geteuid());
	ck_assert_uint_eq(p.gid, getegid());
	st = ftoe_read_file("/proc/self/status", &len, &err);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(ftoe_status_capeff(st, &mine), 0);
	free(st);
	r = ftoe_peer_caps(sv[0], &caps);
	if (r != -ENOPROTOOPT) {	/* SO_PEERPIDFD: Linux 6.5 */
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(caps, mine);
	}
	ck_assert_int_eq(ftoe_peer_get(-1, &p), -EBADF);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A peer that connected and exited has no capabilities any more (its pid
 * may be another process's by now). */
START_TEST(peercred_of_a_gone_peer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen;
	uint64_t caps = 1;
	pid_t pid;
	int lfd, fd, r;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "ftoe-peercred-%d", (int)getpid());
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1));
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, salen), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);

		_exit(c < 0 || connect(c, (struct sockaddr *)&sa, salen) ? 1 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &r, 0), pid);
	ck_assert(WIFEXITED(r) && WEXITSTATUS(r) == 0);
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	r = ftoe_peer_caps(fd, &caps);
	if (r != -ENOPROTOOPT) {
		ck_assert_int_lt(r, 0);
		ck_assert_uint_eq(caps, 0);
	}
	close(fd);
	close(lfd);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("lib_util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, hex_parse_forms);
	tcase_add_test(tc, hex_encode_decode_round_trip);
	tcase_add_test(tc, read_file_cases);
	tcase_add_test(tc, peercred_pure_checks);
	tcase_add_test(tc, peercred_of_a_live_peer);
	tcase_add_test(tc, peercred_of_a_gone_peer);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(util_suite)

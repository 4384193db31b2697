/* main.c - flextoe-bpf-conformance: the plugin that runs one bpf_conformance test program.
 *
 * Protocol of the Alan-Jowett/bpf_conformance runner (as its libbpf and
 * uBPF plugins implement it): the program's bytes arrive base16-encoded
 * on one line of stdin ("b7 00 00 00 ..."), the optional first
 * non-option argument holds the memory bytes, the program runs with r1 =
 * memory (NULL when none) and r2 = its length, and r0 is printed in hex on
 * stdout.  A failure prints a message on stderr and exits non-zero.
 *
 * usage: flextoe-bpf-conformance [MEMORY_HEX] [--engine jit|interp]
 *                                [--program PROGRAM_HEX] [--debug]
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/ebpf.h"
#include "lib/util/hex.h"
#include "lib/util/log.h"

static const char *prog_name = "flextoe-bpf-conformance";

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [MEMORY_HEX] [--engine jit|interp] [--program PROGRAM_HEX] [--debug]\n"
		   "Reads the program as base16 bytes from stdin (unless --program is given),\n"
		   "runs it with r1 = memory, r2 = memory length, and prints r0 in hex.\n",
		prog_name);
}

/* Whitespace-separated tokens; a token of one or two digits is one byte
 * (as the suite writes "%02x "), a longer even-length token a run of
 * bytes.  Returns the byte count or -EINVAL, naming the bad token. */
static long base16_decode(const char *what, const char *s, uint8_t **out)
{
	size_t cap = strlen(s) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", prog_name);
		return -ENOMEM;
	}
	while (*s) {
		const char *tok;
		size_t len;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		tok = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		len = (size_t)(s - tok);
		if (len > 2 && (tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X')) && len <= 4) {
			tok += 2;
			len -= 2;
		}
		if (len > 2 && len % 2) {
			fprintf(stderr, "%s: bad %s hex: odd number of digits in '%.*s'\n",
				prog_name, what, (int)len, tok);
			free(buf);
			return -EINVAL;
		}
		for (size_t k = 0; k < len; k += (len <= 2 ? len : 2)) {
			int hi = ftoe_hex_digit((unsigned char)tok[k]);
			int lo = len == 1 ? 0 : ftoe_hex_digit((unsigned char)tok[k + 1]);

			if (hi < 0 || lo < 0) {
				fprintf(stderr, "%s: bad %s hex: '%.*s' is not a hex byte\n",
					prog_name, what, (int)len, tok);
				free(buf);
				return -EINVAL;
			}
			buf[n++] = len == 1 ? (uint8_t)hi : (uint8_t)(hi << 4 | lo);
		}
	}
	*out = buf;
	return (long)n;
}

int main(int argc, char **argv)
{
	enum ebpf_engine engine = EBPF_ENGINE_JIT;
	const char *memory_hex = NULL, *program_hex = NULL;
	char *line = NULL, err[512] = "";
	uint8_t *code = NULL, *mem = NULL;
	long code_len, mem_len = 0;
	struct ebpf_prog *prog = NULL;
	size_t line_cap = 0;
	uint64_t r0;
	int ret = 1;

	ftoe_log_set_prefix(prog_name);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--engine") || !strncmp(a, "--engine=", 9)) {
			const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v || ebpf_engine_parse(v, &engine)) {
				fprintf(stderr, "%s: --engine takes 'jit' or 'interp'%s%s\n", prog_name,
					v ? ", not " : "", v ? v : "");
				return 2;
			}
		} else if (!strcmp(a, "--program")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: --program needs the program's hex bytes\n",
					prog_name);
				return 2;
			}
			program_hex = argv[++i];
		} else if (!strcmp(a, "--debug")) {
			ftoe_log_set_level(FTOE_LOG_DEBUG);
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--elf")) {
			fprintf(stderr, "%s: --elf is not supported; pass raw instructions\n",
				prog_name);
			return 2;
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "%s: unknown option %s\n", prog_name, a);
			usage(stderr);
			return 2;
		} else if (!memory_hex) {
			memory_hex = a;
		} else {
			fprintf(stderr, "%s: unexpected argument '%s'\n", prog_name, a);
			usage(stderr);
			return 2;
		}
	}

	if (!program_hex) {
		if (getline(&line, &line_cap, stdin) < 0) {
			fprintf(stderr, "%s: no program on stdin (expected one line of hex bytes)\n",
				prog_name);
			goto out;
		}
		program_hex = line;
	}
	code_len = base16_decode("program", program_hex, &code);
	if (code_len < 0)
		goto out;
	if (code_len == 0 || code_len % sizeof(struct bpf_insn)) {
		fprintf(stderr, "%s: program is %ld bytes; expected a non-zero multiple of %zu\n",
			prog_name, code_len, sizeof(struct bpf_insn));
		goto out;
	}
	if (memory_hex) {
		mem_len = base16_decode("memory", memory_hex, &mem);
		if (mem_len < 0)
			goto out;
	}

	struct ebpf_prog_opts opts = {
		.sz = sizeof(opts),
		.name = "conformance",
		.engine = engine,
		.helpers = EBPF_HELPERS_CONFORMANCE,
		.err_buf = err,
		.err_size = sizeof(err),
	};
	int err_code = ebpf_prog_load_raw((const struct bpf_insn *)code,
					  (size_t)code_len / sizeof(struct bpf_insn), &opts, &prog);
	if (err_code) {
		fprintf(stderr, "%s: failed to load program (%s engine): %s\n", prog_name,
			ebpf_engine_name(engine), *err ? err : strerror(-err_code));
		goto out;
	}

	r0 = ebpf_prog_run_args(prog, mem_len ? (uint64_t)(uintptr_t)mem : 0, (uint64_t)mem_len);
	printf("%" PRIx64 "\n", r0);
	ret = fflush(stdout) ? 1 : 0;
out:
	ebpf_prog_put(prog);
	free(line);
	free(code);
	free(mem);
	return ret;
}

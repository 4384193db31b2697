/* hex.c - hex text <-> bytes, the one parser and encoder every FlexTOE binary shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/hex.h"

int ftoe_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ftoe_hex_parse(const char *s, uint8_t *out, size_t size)
{
	size_t n = 0;
	int hi = -1;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	for (; *s; s++) {
		int d;

		if (*s == ' ' || *s == ':')
			continue;
		d = ftoe_hex_digit((unsigned char)*s);
		if (d < 0)
			return -EINVAL;
		if (hi < 0) {
			hi = d;
			continue;
		}
		if (n >= size)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | d);
		hi = -1;
	}
	return hi < 0 && n == size ? 0 : -EINVAL;
}

int ftoe_hex_decode(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *b;

	if (n % 2)
		return -EINVAL;
	b = malloc(n / 2 + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = ftoe_hex_digit((unsigned char)s[2 * i]);
		int lo = ftoe_hex_digit((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -EINVAL;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = b;
	*len = n / 2;
	return 0;
}

char *ftoe_hex_encode(const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = buf;
	char *s = malloc(len * 2 + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * len] = 0;
	return s;
}

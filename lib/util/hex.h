/* hex.h - hex text <-> bytes, the one parser and encoder every FlexTOE binary shares. */
#ifndef FTOE_UTIL_HEX_H
#define FTOE_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of hex digit c (either case), or -1. */
int ftoe_hex_digit(int c);

/* Exactly size bytes from text a person typed: an optional 0x, then hex
 * digit pairs; spaces and colons between digits are ignored ("0a:00 00
 * 09").  0, or -EINVAL for anything else (odd digits, too few or too many
 * bytes). */
int ftoe_hex_parse(const char *s, uint8_t *out, size_t size);

/* Bytes from the strict form of the control protocol (an even number of
 * digits, nothing else) into a new buffer (free it).  0, -EINVAL or
 * -ENOMEM. */
int ftoe_hex_decode(const char *s, uint8_t **out, size_t *len);

/* The lower-case hex of len bytes as a new string (free it); NULL when
 * out of memory. */
char *ftoe_hex_encode(const void *buf, size_t len);

#endif

/* Hexadecimal digits, both ways: boot ids, SHA-256 digests, MAC addresses, %XX escapes. */
#ifndef WARD_BASE_HEX_H_
#define WARD_BASE_HEX_H_

#include <stddef.h>
#include <stdint.h>

/** @return the value 0..15 of one hex digit (either case), -1 for any other character. */
int ward_hex_digit(char c);

/**
 * Decode exactly 2 * len hex digits (either case) into out[len].
 * @return 0, -EINVAL when a character is not a hex digit (out is then partly written).
 */
int ward_hex_decode(const char *hex, uint8_t *out, size_t len);

/** Lower-case hex of in[len] into out[2 * len + 1], NUL-terminated. */
void ward_hex_encode(const uint8_t *in, size_t len, char *out);

#endif /* WARD_BASE_HEX_H_ */

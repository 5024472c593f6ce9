/*
 * The active configuration's digest: SHA-256 over the canonical configuration text
 * (every CONFIG_NAME=value that is set, sorted, one per line). It goes in the banner and,
 * later, in every heartbeat, so the collector can tell which configuration a device runs.
 */
#ifndef WARD_DIGEST_H_
#define WARD_DIGEST_H_

#include <stddef.h>
#include <stdint.h>

#define WARD_DIGEST_LEN     32
#define WARD_DIGEST_HEX_LEN (2 * WARD_DIGEST_LEN)

/**
 * SHA-256 of a buffer.
 * @return 0, -EINVAL for NULL arguments, -EIO if the hash engine failed.
 */
int ward_sha256(const void *data, size_t len, uint8_t out[WARD_DIGEST_LEN]);

/**
 * Digest of the configuration built into this image, computed on first use and kept.
 * @return 0, -EINVAL for a NULL out, or an error from ward_sha256().
 */
int ward_config_digest(uint8_t out[WARD_DIGEST_LEN]);

/** The canonical configuration text the digest is taken over. */
const char *ward_config_text(void);

/**
 * Lower-case hex of the first n bytes of a digest.
 * @return 0, -EINVAL for NULL or n > WARD_DIGEST_LEN, -ENOSPC when out is too small.
 */
int ward_digest_hex(const uint8_t digest[WARD_DIGEST_LEN], size_t n, char *out, size_t out_len);

#endif /* WARD_DIGEST_H_ */

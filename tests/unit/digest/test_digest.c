#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ward/base/config.h"
#include "ward/digest.h"
#include "ward/version.h"
#include "config_digest.h"

static void hex_of(const void *data, size_t len, char out[WARD_DIGEST_HEX_LEN + 1])
{
    uint8_t d[WARD_DIGEST_LEN];

    assert_int_equal(ward_sha256(data, len, d), 0);
    assert_int_equal(ward_digest_hex(d, sizeof(d), out, WARD_DIGEST_HEX_LEN + 1), 0);
}

static void test_sha256_vectors(void **state)
{
    /* FIPS 180-2 appendix B.1 and B.2, and the empty message. */
    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[WARD_DIGEST_HEX_LEN + 1];

    (void)state;
    hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_bad_arguments(void **state)
{
    uint8_t d[WARD_DIGEST_LEN] = { 0 };
    char small[4];

    (void)state;
    assert_int_equal(ward_sha256(NULL, 1, d), -EINVAL);
    assert_int_equal(ward_sha256("a", 1, NULL), -EINVAL);
    assert_int_equal(ward_digest_hex(d, WARD_DIGEST_LEN + 1, small, sizeof(small)), -EINVAL);
    assert_int_equal(ward_digest_hex(d, 2, small, sizeof(small)), -ENOSPC);
    assert_int_equal(ward_digest_hex(d, 1, small, sizeof(small)), 0);
    assert_string_equal(small, "00");
}

static void test_config_digest_matches_build(void **state)
{
    uint8_t d[WARD_DIGEST_LEN];
    char hex[WARD_DIGEST_HEX_LEN + 1];

    (void)state;
    assert_int_equal(ward_config_digest(d), 0);
    assert_int_equal(ward_digest_hex(d, sizeof(d), hex, sizeof(hex)), 0);
    assert_string_equal(hex, WARD_CONFIG_SHA256_HEX);
    /* The digest covers the board's own settings. */
    assert_non_null(strstr(ward_config_text(), "CONFIG_WARD_BOARD_NAME=\"" WARD_BOARD_NAME "\"\n"));
}

static void test_banner(void **state)
{
    char buf[160];
    char tiny[10];
    uint8_t d[WARD_DIGEST_LEN];
    char hex[17];

    (void)state;
    assert_int_equal(ward_config_digest(d), 0);
    assert_int_equal(ward_digest_hex(d, 8, hex, sizeof(hex)), 0);
    int n = ward_banner_format(buf, sizeof(buf));

    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    assert_non_null(strstr(buf, "board=" WARD_BOARD_NAME));
    assert_non_null(strstr(buf, hex));
    assert_int_equal(strncmp(buf, "ward ", 5), 0);
    assert_int_equal(ward_banner_format(tiny, sizeof(tiny)), -ENOSPC);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_int_equal(ward_banner_format(NULL, 10), -EINVAL);
    assert_int_equal(ward_banner_format(buf, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_config_digest_matches_build),
        cmocka_unit_test(test_banner),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

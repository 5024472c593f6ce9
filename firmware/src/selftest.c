#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "ward/config.h"
#include "ward/digest.h"
#include "ward/fmt.h"
#include "ward/json_arena.h"
#include "ward/selftest.h"
#include "ward/version.h"
#include "config_digest.h"

/* A failing check returns a static reason; NULL means pass. */
typedef const char *(*selftest_fn)(void);

static const char *st_sha256_known_answer(void)
{
    /* FIPS 180-2, appendix B.1: SHA-256("abc"). */
    static const char expect[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t d[WARD_DIGEST_LEN];
    char hex[WARD_DIGEST_HEX_LEN + 1];

    if (ward_sha256("abc", 3, d) != 0 || ward_digest_hex(d, sizeof(d), hex, sizeof(hex)) != 0) {
        return "hash engine failed";
    }
    return strcmp(hex, expect) == 0 ? NULL : "wrong digest of \"abc\"";
}

static const char *st_config_digest(void)
{
    uint8_t d[WARD_DIGEST_LEN];
    char hex[WARD_DIGEST_HEX_LEN + 1];

    if (ward_config_digest(d) != 0 || ward_digest_hex(d, sizeof(d), hex, sizeof(hex)) != 0) {
        return "hash engine failed";
    }
    /* The build computed the same digest independently (tools/kconfig/kconfig.py). */
    return strcmp(hex, WARD_CONFIG_SHA256_HEX) == 0 ? NULL : "differs from the build's digest";
}

static const char *st_banner(void)
{
    char buf[128];
    char tiny[8];
    int n = ward_banner_format(buf, sizeof(buf));

    if (n <= 0 || strstr(buf, "board=" WARD_BOARD_NAME " ") == NULL ||
        strncmp(buf, "ward ", 5) != 0) {
        return "banner malformed";
    }
    if (ward_banner_format(tiny, sizeof(tiny)) != -ENOSPC || tiny[sizeof(tiny) - 1] != '\0') {
        return "short buffer not reported";
    }
    return NULL;
}

static const char *st_int64_format(void)
{
    char buf[WARD_FMT_INT64_MAX];

    if (ward_fmt_u64(buf, sizeof(buf), UINT64_MAX) != 20 ||
        strcmp(buf, "18446744073709551615") != 0) {
        return "UINT64_MAX";
    }
    if (ward_fmt_i64(buf, sizeof(buf), INT64_MIN) != 20 ||
        strcmp(buf, "-9223372036854775808") != 0) {
        return "INT64_MIN";
    }
    if (ward_fmt_i64(buf, sizeof(buf), -40000) != 6 || strcmp(buf, "-40000") != 0) {
        return "negative milli-degrees";
    }
    if (ward_fmt_u64(buf, 3, 1000) != -ENOSPC) {
        return "overflow not reported";
    }
    return NULL;
}

static const char *json_roundtrip(void)
{
    static const char expect[] = "{\"board\":\"" WARD_BOARD_NAME "\",\"temp_mc\":-40500,"
                                 "\"bytes\":18446744073709551615,\"fans\":[1200,0]}";
    char out[160];
    char num[WARD_FMT_INT64_MAX];
    cJSON *doc = cJSON_CreateObject();

    ward_fmt_u64(num, sizeof(num), UINT64_MAX);
    if (doc == NULL || cJSON_AddStringToObject(doc, "board", WARD_BOARD_NAME) == NULL ||
        cJSON_AddNumberToObject(doc, "temp_mc", -40500) == NULL ||
        cJSON_AddRawToObject(doc, "bytes", num) == NULL) {
        return "arena too small to build";
    }
    cJSON *fans = cJSON_AddArrayToObject(doc, "fans");

    if (fans == NULL) {
        return "arena too small to build";
    }
    cJSON_AddItemToArray(fans, cJSON_CreateNumber(1200));
    cJSON_AddItemToArray(fans, cJSON_CreateNumber(0));
    if (!cJSON_PrintPreallocated(doc, out, (int)sizeof(out), 0)) {
        return "print failed";
    }
    if (strcmp(out, expect) != 0) {
        return "printed text differs";
    }
    cJSON *back = cJSON_Parse(out);

    if (back == NULL || cJSON_GetObjectItem(back, "temp_mc") == NULL ||
        cJSON_GetObjectItem(back, "temp_mc")->valueint != -40500) {
        return "parse back failed";
    }
    return NULL;
}

static const char *st_json_arena(void)
{
    static uint8_t storage[2048];
    static uint8_t small_storage[96];
    struct ward_json_arena arena;
    struct ward_json_arena small;
    const char *why;

    if (ward_json_arena_init(&arena, storage, sizeof(storage)) != 0 ||
        ward_json_arena_init(&small, small_storage, sizeof(small_storage)) != 0) {
        return "init";
    }
    ward_json_arena_enter(&arena);
    why = json_roundtrip();
    size_t used = arena.used;

    ward_json_arena_leave(&arena);
    if (why != NULL) {
        return why;
    }
    if (used == 0 || arena.used != 0 || arena.failures != 0) {
        return "arena accounting";
    }
    /* A full arena makes cJSON fail cleanly, and the failure is counted. */
    ward_json_arena_enter(&small);
    why = json_roundtrip();
    ward_json_arena_leave(&small);
    if (why == NULL || small.failures == 0) {
        return "overflow not refused";
    }
    return NULL;
}

static const struct {
    const char *name;
    selftest_fn fn;
} s_tests[] = {
    { "sha256_known_answer", st_sha256_known_answer },
    { "config_digest", st_config_digest },
    { "banner", st_banner },
    { "int64_format", st_int64_format },
    { "json_arena", st_json_arena },
};

int ward_selftest_run(ward_line_fn out, void *ctx, struct ward_selftest_summary *summary)
{
    struct ward_selftest_summary s = { 0, 0 };
    char line[128];

    if (out == NULL) {
        return -EINVAL;
    }
    if (!IS_ENABLED(CONFIG_WARD_SELFTEST)) {
        out(ctx, "self-tests are not built into this image (CONFIG_WARD_SELFTEST=n)");
        return -ENOTSUP;
    }
    for (size_t i = 0; i < sizeof(s_tests) / sizeof(s_tests[0]); i++) {
        const char *why = s_tests[i].fn();

        if (why == NULL) {
            s.passed++;
            snprintf(line, sizeof(line), "PASS %s", s_tests[i].name);
        } else {
            s.failed++;
            snprintf(line, sizeof(line), "FAIL %s: %s", s_tests[i].name, why);
        }
        out(ctx, line);
    }
    snprintf(line, sizeof(line), "%u passed, %u failed", s.passed, s.failed);
    out(ctx, line);
    if (summary != NULL) {
        *summary = s;
    }
    return s.failed == 0 ? 0 : -EFAULT;
}

/*
 * TOTP, argon2id, CIDR, the role table and the audit chain (tools/collector/auth, audit).
 * The oracles are other implementations run as programs: `oathtool --totp -N @T` for codes
 * at fixed times and the `argon2` CLI for the encoded hash of one password and salt.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/policy.h"
#include "auth/pwhash.h"
#include "auth/totp.h"
#include "http/http.h"
#include "store/store.h"

/* Run cmd, return its first output line (trimmed) in out. */
static void run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");

    assert_non_null(p);
    out[0] = '\0';
    if (fgets(out, (int)cap, p) == NULL) {
        out[0] = '\0';
    }
    out[strcspn(out, "\r\n")] = '\0';
    assert_int_equal(pclose(p), 0);
}

static void test_totp_rfc6238_vectors(void **state)
{
    /* RFC 6238 Appendix B, SHA-1 seed; the 8-digit codes cut to 6. */
    static const uint8_t seed[] = "12345678901234567890";
    static const struct {
        uint64_t t;
        int code;
    } v[] = { { 59, 287082 },       { 1111111109, 81804 },  { 1111111111, 50471 },
              { 1234567890, 5924 }, { 2000000000, 279037 }, { 20000000000ull, 353130 } };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(wcol_totp_code(seed, 20, v[i].t / 30), v[i].code);
    }
}

static void test_totp_against_oathtool(void **state)
{
    static const uint8_t secret[20] = {
        0x3d, 0xc6, 0xca, 0xa4, 0x82, 0x4a, 0x6d, 0x28, 0x87, 0x67,
        0xb2, 0x33, 0x1e, 0x20, 0xb4, 0x31, 0x66, 0xcb, 0x85, 0xd9
    };
    static const uint64_t times[] = { 30, 1000000000, 1700000000, 1796538000, 4102444800 };
    char cmd[256], out[32], code[8];

    (void)state;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        snprintf(cmd, sizeof(cmd),
                 "oathtool --totp -N @%llu 3dc6caa4824a6d288767b2331e20b43166cb85d9",
                 (unsigned long long)times[i]);
        run(cmd, out, sizeof(out));
        snprintf(code, sizeof(code), "%06d", wcol_totp_code(secret, 20, times[i] / 30));
        assert_string_equal(code, out);
        /* the same code passes the check at that time, once */
        int64_t step = wcol_totp_check(secret, 20, out, times[i], 0);

        assert_int_equal(step, (int64_t)(times[i] / 30));
        assert_int_equal(wcol_totp_check(secret, 20, out, times[i], (uint64_t)step), -EACCES);
    }
}

static void test_totp_window(void **state)
{
    static const uint8_t secret[20] = "ward-totp-window-key";
    uint64_t now = 1796538015, step = now / 30;
    char code[8];

    (void)state;
    for (int d = -2; d <= 2; d++) {
        snprintf(code, sizeof(code), "%06d", wcol_totp_code(secret, 20, step + (uint64_t)d));
        int64_t got = wcol_totp_check(secret, 20, code, now, 0);

        if (d >= -1 && d <= 1) {
            assert_int_equal(got, (int64_t)(step + (uint64_t)d)); /* one step either side */
        } else {
            assert_int_equal(got, -EACCES);
        }
    }
    /* after step was used, the one before it is no longer accepted (no replay backwards) */
    snprintf(code, sizeof(code), "%06d", wcol_totp_code(secret, 20, step - 1));
    assert_int_equal(wcol_totp_check(secret, 20, code, now, step), -EACCES);
    assert_int_equal(wcol_totp_check(secret, 20, "12345", now, 0), -EACCES);
    assert_int_equal(wcol_totp_check(secret, 20, "12a456", now, 0), -EACCES);
}

static void test_base32(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(wcol_b32_encode((const uint8_t *)"foobar", 6, out, sizeof(out)), 0);
    assert_string_equal(out, "MZXW6YTBOI"); /* RFC 4648 section 10, unpadded */
    assert_int_equal(wcol_b32_encode((const uint8_t *)"f", 1, out, sizeof(out)), 0);
    assert_string_equal(out, "MY");
    assert_int_equal(wcol_b32_encode((const uint8_t *)"foobar", 6, out, 4), -ENOSPC);
}

static void test_argon2_against_cli(void **state)
{
    static const char salt[] = "ward-salt-16byte";
    char mine[WCOL_PW_ENC_MAX], cli[WCOL_PW_ENC_MAX + 8], cmd[256];

    (void)state;
    assert_int_equal(
        wcol_pw_hash_salted("correct horse battery", (const uint8_t *)salt, 16, mine, sizeof(mine)),
        0);
    snprintf(cmd, sizeof(cmd),
             "printf %%s 'correct horse battery' | argon2 %s -id -t %u -k %u "
             "-p %u -l %u -e",
             salt, WCOL_PW_T, WCOL_PW_M_KIB, WCOL_PW_P, WCOL_PW_HASH_LEN);
    run(cmd, cli, sizeof(cli));
    assert_string_equal(mine, cli);
    assert_true(wcol_pw_verify(cli, "correct horse battery"));
    assert_false(wcol_pw_verify(cli, "correct horse batterz"));
    assert_false(wcol_pw_verify("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAA", "x"));
    assert_non_null(wcol_pw_weak("short"));
    assert_null(wcol_pw_weak("long enough password"));
}

static void test_cidr(void **state)
{
    (void)state;
    assert_true(wcol_cidr_match("", "192.0.0.1:5"));
    assert_true(wcol_cidr_match("127.0.0.0/8", "127.0.0.1:4443"));
    assert_false(wcol_cidr_match("127.0.0.0/8", "128.0.0.1:4443"));
    assert_true(wcol_cidr_match("198.18.0.0/15", "198.19.255.1:1"));
    assert_false(wcol_cidr_match("198.18.0.0/15", "198.20.0.1:1"));
    assert_true(wcol_cidr_match("::1/128", "[::1]:8444"));
    assert_false(wcol_cidr_match("::1/128", "127.0.0.1:8444"));
    assert_true(wcol_cidr_match("127.0.0.1", "127.0.0.1:1"));
    assert_false(wcol_cidr_valid("127.0.0.0/33"));
    assert_false(wcol_cidr_valid("nonsense"));
    assert_true(wcol_cidr_valid("fd00::/8"));
}

static struct wcol_principal who(enum wcol_role role, const char *devices)
{
    struct wcol_principal p;

    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "t");
    p.role = role;
    snprintf(p.devices, sizeof(p.devices), "%s", devices);
    return p;
}

static bool allowed(enum wcol_role role, const char *devices, int method, const char *path)
{
    struct wcol_principal p = who(role, devices);

    return wcol_access_check(&p, method, path, strlen(path)) == NULL;
}

static void test_roles(void **state)
{
    (void)state;
    assert_true(allowed(WCOL_ROLE_VIEWER, "*", WCOL_HTTP_GET, "/v1/devices"));
    assert_true(allowed(WCOL_ROLE_VIEWER, "*", WCOL_HTTP_GET, "/v1/incidents/3"));
    assert_false(allowed(WCOL_ROLE_VIEWER, "*", WCOL_HTTP_POST, "/v1/incidents/3/ack"));
    assert_true(allowed(WCOL_ROLE_OPERATOR, "*", WCOL_HTTP_POST, "/v1/incidents/3/ack"));
    assert_true(allowed(WCOL_ROLE_OPERATOR, "*", WCOL_HTTP_POST, "/v1/silences"));
    assert_false(allowed(WCOL_ROLE_OPERATOR, "*", WCOL_HTTP_GET, "/v1/users"));
    assert_false(allowed(WCOL_ROLE_OPERATOR, "*", WCOL_HTTP_GET, "/v1/audit"));
    assert_true(allowed(WCOL_ROLE_ADMIN, "*", WCOL_HTTP_POST, "/v1/tokens"));
    /* unknown routes: GET needs viewer, anything else admin */
    assert_true(allowed(WCOL_ROLE_VIEWER, "*", WCOL_HTTP_GET, "/v1/whatever"));
    assert_false(allowed(WCOL_ROLE_OPERATOR, "*", WCOL_HTTP_POST, "/v1/whatever"));
    /* device scope */
    assert_true(allowed(WCOL_ROLE_VIEWER, "dev-a*", WCOL_HTTP_GET, "/v1/devices/dev-a1"));
    assert_false(allowed(WCOL_ROLE_VIEWER, "dev-a*", WCOL_HTTP_GET, "/v1/devices/dev-b"));
    assert_false(allowed(WCOL_ROLE_VIEWER, "dev-a*", WCOL_HTTP_GET, "/v1/devices/dev%2Da1"));
    assert_true(allowed(WCOL_ROLE_VIEWER, "dev-a*", WCOL_HTTP_GET, "/v1/events"));
    assert_false(allowed(WCOL_ROLE_ADMIN, "dev-a*", WCOL_HTTP_GET, "/metrics"));
    assert_false(allowed(WCOL_ROLE_ADMIN, "dev-a*", WCOL_HTTP_GET, "/v1/incidents"));
    assert_false(allowed(WCOL_ROLE_VIEWER, "dev-a*", WCOL_HTTP_GET, "/v1/whatever"));
}

/* An audit log in a fresh state directory: appended, verified, then one entry edited. */
static void test_audit_chain(void **state)
{
    char dir[] = "/tmp/ward-audit-XXXXXX", db[128], sql[256];
    struct wcol_store st;
    struct wcol_audit *a;
    struct wcol_audit_verdict v;
    sqlite3 *raw;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/ward.db", dir);
    struct wcol_store_sqlite_opts so = { .path = db, .busy_timeout_ms = 1000 };

    assert_int_equal(wcol_store_sqlite_open(&st, &so), 0);
    st.ops->close(st.impl);
    assert_int_equal(wcol_audit_open(&a, db, dir, 0), 0);
    for (int i = 0; i < 5; i++) {
        struct wcol_audit_entry e = { .actor = "alice",
                                      .source = "local",
                                      .action = "test",
                                      .target = "t",
                                      .outcome = "ok",
                                      .detail = "d" };

        assert_int_equal(wcol_audit_record(a, &e), i + 1);
    }
    wcol_audit_close(a); /* writes a checkpoint */
    assert_int_equal(wcol_audit_verify_state(dir, NULL, &v), 0);
    assert_true(v.ok);
    assert_int_equal(v.entries, 5);
    assert_int_equal(v.checkpoints, 1);
    /* the triggers refuse an edit through SQL; a tamperer drops them first */
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(raw, "UPDATE audit SET actor = 'eve' WHERE seq = 3", NULL, NULL, NULL),
        SQLITE_OK);
    snprintf(sql, sizeof(sql),
             "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'eve' "
             "WHERE seq = 3");
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(wcol_audit_verify_state(dir, NULL, &v), 0);
    assert_false(v.ok);
    assert_int_equal(v.entry, 3);
    assert_non_null(strstr(v.problem, "edited"));
    snprintf(sql, sizeof(sql), "rm -rf %s", dir);
    assert_int_equal(system(sql), 0);
}

/* Action names (docs/security.md, "Audit actions"): dotted children match, old names are
 * translated both ways, and a name that merely starts alike does not match. */
static void test_audit_action_names(void **state)
{
    (void)state;
    assert_string_equal(wcol_audit_action_name("change-window-open"), "change.open");
    assert_string_equal(wcol_audit_action_name("backup"), "backup.create");
    assert_string_equal(wcol_audit_action_name("token.create"), "token.create");
    assert_true(wcol_audit_action_matches("user.login.failed", "user.login"));
    assert_true(wcol_audit_action_matches("login.failed", "user.login")); /* an old entry */
    assert_true(wcol_audit_action_matches("user.login.failed", "login")); /* an old filter */
    assert_true(wcol_audit_action_matches("restore", "backup"));
    assert_false(wcol_audit_action_matches("user.logout", "user.login"));
    assert_false(wcol_audit_action_matches("user.lock", "login"));
    assert_false(wcol_audit_action_matches("device.enroll_token", "device.enroll"));
    assert_true(wcol_audit_action_matches("device.enroll.refused", "device.enroll"));
    assert_false(wcol_audit_action_matches(NULL, "device"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totp_rfc6238_vectors),
        cmocka_unit_test(test_totp_against_oathtool),
        cmocka_unit_test(test_totp_window),
        cmocka_unit_test(test_base32),
        cmocka_unit_test(test_argon2_against_cli),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_audit_chain),
        cmocka_unit_test(test_audit_action_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

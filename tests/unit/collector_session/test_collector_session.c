/*
 * Sessions of the operator dashboard: what the cookie must look like to name one, when one
 * stops being accepted, and which one goes when the table is full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dash/session.h"

static struct wcol_sessions s_t;

static int reset(void **state)
{
    (void)state;
    memset(&s_t, 0, sizeof(s_t));
    return 0;
}

static const struct wcol_session *by_cookie(const char *id, uint64_t now)
{
    char h[256];

    snprintf(h, sizeof(h), "theme=dark; " WCOL_SESSION_COOKIE "=%s; other=1", id);
    return wcol_session_check(&s_t, h, strlen(h), now);
}

static void test_create_and_check(void **state)
{
    (void)state;
    const struct wcol_session *s = wcol_session_create(&s_t, "ops", "Bearer t", 1000);

    assert_non_null(s);
    assert_int_equal(strlen(s->id), WCOL_SESSION_TOKEN_HEX);
    assert_int_equal(strlen(s->csrf), WCOL_SESSION_TOKEN_HEX);
    assert_string_not_equal(s->id, s->csrf);
    assert_ptr_equal(by_cookie(s->id, 2000), s);
    assert_string_equal(s->who, "ops");
    assert_string_equal(s->bearer, "Bearer t");
    assert_int_equal(wcol_sessions_active(&s_t, 2000), 1);
    assert_int_equal(s_t.stats.logins, 1);
}

static void test_cookie_shapes_refused(void **state)
{
    (void)state;
    const struct wcol_session *s = wcol_session_create(&s_t, "ops", "Bearer t", 1000);
    char id[WCOL_SESSION_TOKEN_HEX + 1], h[256];

    memcpy(id, s->id, sizeof(id));
    id[0] = id[0] == 'a' ? 'b' : 'a'; /* one character off */
    assert_null(by_cookie(id, 1000));
    id[0] = s->id[0];
    id[WCOL_SESSION_TOKEN_HEX - 1] = '\0'; /* too short */
    assert_null(by_cookie(id, 1000));
    snprintf(h, sizeof(h), "x" WCOL_SESSION_COOKIE "=%s", s->id); /* another cookie's name */
    assert_null(wcol_session_check(&s_t, h, strlen(h), 1000));
    snprintf(h, sizeof(h), WCOL_SESSION_COOKIE "=%sff", s->id); /* too long */
    assert_null(wcol_session_check(&s_t, h, strlen(h), 1000));
    assert_null(wcol_session_check(&s_t, NULL, 0, 1000));
    snprintf(h, sizeof(h), WCOL_SESSION_COOKIE "=%s", s->id); /* alone, exact */
    assert_ptr_equal(wcol_session_check(&s_t, h, strlen(h), 1000), s);
}

static void test_csrf(void **state)
{
    (void)state;
    const struct wcol_session *s = wcol_session_create(&s_t, "ops", "Bearer t", 1000);
    char bad[WCOL_SESSION_TOKEN_HEX + 1];

    assert_true(wcol_session_csrf_ok(s, s->csrf, WCOL_SESSION_TOKEN_HEX));
    assert_false(wcol_session_csrf_ok(s, s->csrf, WCOL_SESSION_TOKEN_HEX - 1));
    assert_false(wcol_session_csrf_ok(s, NULL, 0));
    assert_false(wcol_session_csrf_ok(s, s->id, WCOL_SESSION_TOKEN_HEX));
    memcpy(bad, s->csrf, sizeof(bad));
    bad[10] = bad[10] == '0' ? '1' : '0';
    assert_false(wcol_session_csrf_ok(s, bad, WCOL_SESSION_TOKEN_HEX));
    assert_false(wcol_session_csrf_ok(NULL, s->csrf, WCOL_SESSION_TOKEN_HEX));
}

static void test_idle_and_lifetime(void **state)
{
    (void)state;
    const struct wcol_session *s = wcol_session_create(&s_t, "ops", "Bearer t", 1000);
    char id[WCOL_SESSION_TOKEN_HEX + 1];
    uint64_t t = 1000;

    memcpy(id, s->id, sizeof(id));
    /* Used just inside the idle limit again and again: alive until the absolute lifetime. */
    while (t + WCOL_SESSION_IDLE_MS - 1 < 1000 + WCOL_SESSION_LIFETIME_MS) {
        t += WCOL_SESSION_IDLE_MS - 1;
        assert_non_null(by_cookie(id, t));
    }
    assert_null(by_cookie(id, 1000 + WCOL_SESSION_LIFETIME_MS));
    assert_int_equal(s_t.stats.expired, 1);

    s = wcol_session_create(&s_t, "ops", "Bearer t", 5000);
    memcpy(id, s->id, sizeof(id));
    assert_null(by_cookie(id, 5000 + WCOL_SESSION_IDLE_MS)); /* idle too long */
    assert_int_equal(wcol_sessions_active(&s_t, 5000 + WCOL_SESSION_IDLE_MS), 0);
}

static void test_full_table_evicts_least_recent(void **state)
{
    (void)state;
    char ids[WCOL_SESSIONS_MAX][WCOL_SESSION_TOKEN_HEX + 1];

    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        memcpy(ids[i], wcol_session_create(&s_t, "ops", "Bearer t", 1000 + i)->id, sizeof(ids[i]));
    }
    assert_non_null(by_cookie(ids[0], 5000)); /* the oldest is used again: now the newest */
    assert_non_null(wcol_session_create(&s_t, "late", "Bearer t", 6000));
    assert_int_equal(s_t.stats.evicted, 1);
    assert_int_equal(wcol_sessions_active(&s_t, 6000), WCOL_SESSIONS_MAX);
    assert_non_null(by_cookie(ids[0], 6000));
    assert_null(by_cookie(ids[1], 6000)); /* the least recently used went */
    for (unsigned i = 2; i < WCOL_SESSIONS_MAX; i++) {
        assert_non_null(by_cookie(ids[i], 6000));
    }
}

static void test_credential_bounded(void **state)
{
    char big[WCOL_SESSION_BEARER_MAX + 2];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(wcol_session_create(&s_t, "ops", big, 1000));
    big[sizeof(big) - 2] = '\0';
    assert_non_null(wcol_session_create(&s_t, "ops", big, 1000));
}

static void test_destroy(void **state)
{
    (void)state;
    const struct wcol_session *s = wcol_session_create(&s_t, "ops", "Bearer t", 1000);
    char id[WCOL_SESSION_TOKEN_HEX + 1];

    memcpy(id, s->id, sizeof(id));
    wcol_session_destroy(&s_t, s);
    assert_null(by_cookie(id, 1000));
    assert_int_equal(wcol_sessions_active(&s_t, 1000), 0);
    wcol_session_destroy(&s_t, s); /* twice: nothing more */
    assert_int_equal(wcol_sessions_active(&s_t, 1000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_create_and_check, reset),
        cmocka_unit_test_setup(test_cookie_shapes_refused, reset),
        cmocka_unit_test_setup(test_csrf, reset),
        cmocka_unit_test_setup(test_idle_and_lifetime, reset),
        cmocka_unit_test_setup(test_full_table_evicts_least_recent, reset),
        cmocka_unit_test_setup(test_credential_bounded, reset),
        cmocka_unit_test_setup(test_destroy, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The heartbeat merge in C (store/hbmerge.c, ward_heartbeat_merge()) against the SQL merge it
 * replaces (HEARTBEAT_MERGE_OF in store/hbmerge_sql.h), through SQLite on the same inputs:
 * - random documents (every member of the merge with values of every JSON type, escapes,
 *   reals, big integers, duplicate keys, nulls, nesting, whitespace, malformed text, NULLs):
 *   the expression the store runs (HEARTBEAT_MERGE_C_OF) gives the SQL merge's text, or the
 *   same error, every time; the C merge declines what it cannot render exactly;
 * - agent-like sequences (full heartbeats, then compact ones with and without health and
 *   events): the same text, and the C merge declines none of them (it is the path taken);
 * - fixed cases with the document written out (docs/protocol.md's sticky fields);
 * - the sticky state kept per device: used when the stored document is the one it was taken
 *   from (a hit), not otherwise (a miss, a document changed behind it, a rolled-back write, an
 *   eviction at the cap), and the same text as the SQL merge in every case, also through the
 *   store's UPSERT beside the SQL merge's with other writers and savepoints rolled back.
 * WARD_HBMERGE_SEED=<n> and WARD_HBMERGE_CASES=<n> run other inputs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/hbmerge.h"
#include "store/hbmerge_sql.h"

#define DOC_MAX 8192

struct buf {
    char s[DOC_MAX];
    size_t n;
};

static uint64_t s_rng = 0x9e3779b97f4a7c15u;
static sqlite3 *s_db;
static sqlite3_stmt *s_sql, *s_c; /* the SQL merge; the store's expression (C, SQL fallback) */
static struct wcol_hbmerge *s_m;  /* the C merge alone, keeping no state */
static struct wcol_hbmerge *s_cm; /* the store's expression's context (state kept) */
static bool s_clean; /* generate only what the C merge renders (no escapes, reals, ...) */

static unsigned rnd(unsigned n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (unsigned)(s_rng % n);
}

static void add(struct buf *b, const char *s)
{
    size_t len = strlen(s);

    if (b->n + len < sizeof(b->s)) {
        memcpy(b->s + b->n, s, len + 1);
        b->n += len;
    }
}

static void addf(struct buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    add(b, tmp);
}

static void ws(struct buf *b)
{
    static const char *const w[] = { " ", "\n", "\t ", "\r\n" };

    if (rnd(8) == 0) {
        add(b, w[rnd(4)]);
    }
}

static void gen_scalar(struct buf *b)
{
    static const char *const fixed[] = {
        "-0",
        "0",
        "\"fw-1.2\"",
        "\"\"",
        "\"caf\xc3\xa9\"",
        "true",
        "false",
        "null",
        "123456789012345678",
        "-123456789012345678", /* the clean ones above, then the wild */
        "1234567890123456789",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "2.50",
        "1e3",
        "-0.0",
        "1E+2",
        "\"a\\\"b\"",
        "\"\\u00e9\"",
        "\"tab\\t\"",
    };
    unsigned n_fixed = s_clean ? 10 : sizeof(fixed) / sizeof(fixed[0]);

    switch (rnd(4)) {
    case 0:
        addf(b, "%u", rnd(1000000));
        break;
    case 1:
        addf(b, "-%u", 1 + rnd(100000));
        break;
    default:
        add(b, fixed[rnd(n_fixed)]);
    }
}

static void gen_value(struct buf *b, int depth);

static const char *const s_inner_keys[] = { "pending", "last_seq", "lag_max_ms", "state",
                                            "sensors", "not_ok",   "a",          "b" };

static void gen_object(struct buf *b, int depth, const char *const *keys, size_t n_keys)
{
    unsigned n = rnd(6), at = rnd((unsigned)n_keys);

    add(b, "{");
    for (unsigned i = 0; i < n; i++) {
        /* distinct keys when clean (n < n_keys), else any: duplicates are declined */
        unsigned k = s_clean ? (at + i) % (unsigned)n_keys : rnd((unsigned)n_keys);

        ws(b);
        addf(b, "%s\"%s\"", i > 0 ? "," : "", keys[k]);
        ws(b);
        add(b, ":");
        gen_value(b, depth + 1);
    }
    ws(b);
    add(b, "}");
}

static void gen_value(struct buf *b, int depth)
{
    unsigned k = rnd(10);

    ws(b);
    if (depth < 3 && k < 3) {
        gen_object(b, depth, s_inner_keys, sizeof(s_inner_keys) / sizeof(s_inner_keys[0]));
    } else if (depth < 3 && k == 3) {
        unsigned n = rnd(4);

        add(b, "[");
        for (unsigned i = 0; i < n; i++) {
            add(b, i > 0 ? "," : "");
            gen_value(b, depth + 1);
        }
        add(b, "]");
    } else {
        gen_scalar(b);
    }
    ws(b);
}

static const char *const s_hb_keys[] = {
    "v",     "seq",    "t_ms",          "uptime_ms",    "interval_ms", "firmware",
    "board", "arch",   "config_sha256", "rules_sha256", "health",      "events",
    "loop",  "memory", "wall_ms",       "config",       "x",
};

/* A random heartbeat: each member or not, a random value; now and then a duplicate member. */
static void gen_random_doc(struct buf *b)
{
    const size_t n_keys = sizeof(s_hb_keys) / sizeof(s_hb_keys[0]);
    bool first = true;

    b->n = 0;
    b->s[0] = '\0';
    ws(b);
    add(b, "{");
    for (size_t i = 0; i < n_keys; i++) {
        unsigned times = rnd(3) != 0 ? 1 : 0;

        times += !s_clean && rnd(40) == 0;
        for (unsigned t = 0; t < times; t++) {
            addf(b, "%s\"%s\":", first ? "" : ",", s_hb_keys[i]);
            first = false;
            if ((i == 2 || i == 3) && (s_clean || rnd(4) != 0)) {
                add(b, rnd(10) == 0 ? "null" : rnd(10) == 0 ? "true" : "");
                if (b->s[b->n - 1] == ':') {
                    addf(b, "%s%u", rnd(8) == 0 ? "-" : "", rnd(1u << 30));
                }
            } else if (s_clean && i >= 10 && i <= 13 && rnd(4) != 0) {
                add(b, rnd(8) == 0 ? "null" : rnd(6) == 0 ? "[1,{\"a\":null}]" : "");
                if (b->s[b->n - 1] == ':') {
                    gen_object(b, 1, s_inner_keys, sizeof(s_inner_keys) / sizeof(s_inner_keys[0]));
                }
            } else if (rnd(3) == 0) {
                gen_object(b, 1, s_inner_keys, sizeof(s_inner_keys) / sizeof(s_inner_keys[0]));
            } else {
                gen_value(b, 1);
            }
        }
    }
    add(b, "}");
    ws(b);
    if (!s_clean && rnd(30) == 0 && b->n > 2) {
        b->s[--b->n] = '\0'; /* malformed */
    }
}

/* An agent's heartbeat: full (every sticky member) or compact, as firmware/wire writes it. */
static void gen_agent_doc(struct buf *b, bool full, unsigned seq, unsigned t_ms)
{
    b->n = 0;
    b->s[0] = '\0';
    addf(b, "{\"v\":2,\"seq\":%u,\"t_ms\":%u,\"config\":\"d44d0a1b2c3d4e5f\"", seq, t_ms);
    if (full) {
        addf(b, ",\"wall_ms\":%u%03u,\"uptime_ms\":%u,\"interval_ms\":%u", 1700000, rnd(1000),
             t_ms - rnd(1000), 1000 * (1 + rnd(60)));
        add(b, ",\"firmware\":\"0.1.0\",\"board\":\"linux-x86_64\",\"arch\":\"x86_64\"");
        add(b, ",\"config_sha256\":"
               "\"d44d0a1b2c3d4e5f00112233445566778899aabbccddeeff0011223344556677\"");
        if (rnd(2) == 0) {
            add(b, ",\"rules_sha256\":\"c9c1aa00\",\"rules\":\"c9c1aa00\"");
        }
    }
    if (full || rnd(3) == 0) {
        addf(b, ",\"health\":{\"state\":\"%s\"", rnd(2) ? "ok" : "unavailable");
        if (rnd(2) == 0) {
            add(b, ",\"severity\":\"medium\"");
        }
        addf(b, ",\"sensors\":%u,\"not_ok\":%u}", rnd(64), rnd(4));
    }
    if (rnd(3) == 0 || (full && rnd(2) == 0)) {
        add(b, ",\"events\":{");
        if (rnd(2) == 0) {
            addf(b, "\"pending\":%u,", 1 + rnd(20));
        }
        addf(b, "\"last_seq\":%u}", rnd(1000));
    }
    if (full) {
        if (rnd(2) == 0) {
            addf(b, ",\"loop\":{\"lag_max_ms\":%u}", rnd(5000));
        }
        addf(b,
             ",\"memory\":{\"context_bytes\":%u,\"sensors_used\":4,\"sensors_max\":64,"
             "\"json_arena_high_water\":%u,\"readings_refused\":0}",
             30000 + rnd(3000), rnd(8192));
    }
    add(b, "}");
}

struct result {
    int rc; /* SQLITE_ROW, or the error */
    bool null;
    char text[2 * DOC_MAX];
    size_t len;
};

static void bind_doc(sqlite3_stmt *st, int i, const struct buf *b)
{
    if (b == NULL) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_text(st, i, b->s, (int)b->n, SQLITE_TRANSIENT);
    }
}

static void run(sqlite3_stmt *st, const struct buf *old, const struct buf *nw, const char *dev,
                struct result *r)
{
    memset(r, 0, sizeof(*r));
    bind_doc(st, 1, old);
    bind_doc(st, 2, nw);
    if (st == s_c) {
        sqlite3_bind_text(st, 3, dev, -1, SQLITE_TRANSIENT); /* NULL binds NULL */
    }
    r->rc = sqlite3_step(st);
    if (r->rc == SQLITE_ROW) {
        r->null = sqlite3_column_type(st, 0) == SQLITE_NULL;
        r->len = (size_t)sqlite3_column_bytes(st, 0);
        assert_true(r->len < sizeof(r->text));
        memcpy(r->text, sqlite3_column_text(st, 0) ?: (const unsigned char *)"", r->len);
    }
    sqlite3_reset(st);
}

/* The store's expression (for device dev, its state kept) and the C merge alone give the SQL
 * merge's text. @return 1 if the C merge made it (0: declined to SQL). */
static int check_pair(const struct buf *old, const struct buf *nw, const char *dev,
                      struct result *want)
{
    struct result got;
    const char *out = NULL;
    size_t len = 0;

    run(s_sql, old, nw, NULL, want);
    run(s_c, old, nw, dev, &got);
    if (want->rc != got.rc || want->null != got.null || want->len != got.len ||
        memcmp(want->text, got.text, want->len) != 0) {
        print_error("old: %s\nnew: %s\nSQL (%d): %.*s\nstore (%d): %.*s\n", old ? old->s : "NULL",
                    nw ? nw->s : "NULL", want->rc, (int)want->len, want->text, got.rc, (int)got.len,
                    got.text);
        fail();
    }
    if (old == NULL || nw == NULL) {
        return 0;
    }
    int rc = wcol_hbmerge_run(s_m, NULL, 0, old->s, old->n, nw->s, nw->n, &out, &len);

    if (rc == 1) {
        out = nw->s;
        len = nw->n;
    }
    if (rc >= 0 && (want->rc != SQLITE_ROW || want->null || want->len != len ||
                    memcmp(want->text, out, len) != 0)) {
        print_error("old: %s\nnew: %s\nSQL (%d): %.*s\nC: %.*s\n", old->s, nw->s, want->rc,
                    (int)want->len, want->text, (int)len, out);
        fail();
    }
    assert_true(rc >= 0 || rc == -ENOTSUP || rc == -E2BIG);
    return rc >= 0;
}

static unsigned env_unsigned(const char *name, unsigned dflt)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? (unsigned)strtoul(v, NULL, 0) : dflt;
}

static int setup(void **state)
{
    (void)state;
    s_m = wcol_hbmerge_new(0);
    assert_non_null(s_m);
    assert_int_equal(sqlite3_open(":memory:", &s_db), SQLITE_OK);
    assert_int_equal(wcol_hbmerge_sql_define(s_db, 64, &s_cm), 0);
    assert_int_equal(
        sqlite3_prepare_v2(s_db, "SELECT " HEARTBEAT_MERGE_OF("?1", "?2"), -1, &s_sql, NULL),
        SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(s_db, "SELECT " HEARTBEAT_MERGE_C_OF("?1", "?2", "?3"), -1, &s_c, NULL),
        SQLITE_OK);
    s_rng ^= env_unsigned("WARD_HBMERGE_SEED", 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sqlite3_finalize(s_sql);
    sqlite3_finalize(s_c);
    sqlite3_close(s_db);
    wcol_hbmerge_free(s_m);
    return 0;
}

static void set_doc(struct buf *b, const char *s)
{
    b->n = 0;
    b->s[0] = '\0';
    add(b, s);
}

/* Random pairs; a quarter of the stored documents are what an earlier merge stored. */
static void test_random(void **state)
{
    static const char *const odd[] = { "[1]", "5", "\"s\"", "{bad", "{}", "null", "{\"t_ms\":1}" };
    unsigned cases = env_unsigned("WARD_HBMERGE_CASES", 3000), by_c = 0;
    static struct buf old, nw, prev;
    struct result want;
    bool have_prev = false;

    (void)state;
    for (unsigned i = 0; i < cases; i++) {
        const struct buf *o = &old, *n = &nw;
        unsigned k = rnd(20);

        s_clean = rnd(2) == 0;
        if (k == 0) {
            o = NULL;
        } else if (k == 1) {
            set_doc(&old, odd[rnd(sizeof(odd) / sizeof(odd[0]))]);
        } else if (k < 7 && have_prev) {
            old = prev;
        } else {
            gen_random_doc(&old);
        }
        if (rnd(20) == 0) {
            n = NULL;
        } else {
            gen_random_doc(&nw);
        }
        by_c += (unsigned)check_pair(o, n, "r", &want);
        if (want.rc == SQLITE_ROW && !want.null && want.len < sizeof(prev.s)) {
            memcpy(prev.s, want.text, want.len);
            prev.s[want.len] = '\0';
            prev.n = want.len;
            have_prev = true;
        }
    }
    struct wcol_hbmerge_stats st;

    wcol_hbmerge_stats(s_cm, &st); /* with the tests before this one */
    print_message("%u random pairs, %u merged in C, the others by the SQL merge; sticky state: "
                  "%llu hits, %llu misses, %llu stale\n",
                  cases, by_c, (unsigned long long)st.hits, (unsigned long long)st.misses,
                  (unsigned long long)st.stale);
    assert_true(by_c > cases / 5); /* the random documents reach the C merge, not only SQL */
}

/* Random heartbeats for one device, each merged into what the last one stored: the state is
 * used whenever the C merge made (or a full heartbeat was) the stored document. */
static void test_random_chain(void **state)
{
    unsigned cases = env_unsigned("WARD_HBMERGE_CASES", 3000);
    static struct buf stored, nw;
    struct wcol_hbmerge_stats before, after;
    struct result want;
    bool have = false;

    (void)state;
    wcol_hbmerge_stats(s_cm, &before);
    for (unsigned i = 0; i < cases; i++) {
        s_clean = rnd(4) != 0;
        gen_random_doc(&nw);
        check_pair(have ? &stored : NULL, &nw, "chain", &want);
        if (want.rc == SQLITE_ROW && !want.null && want.len < sizeof(stored.s)) {
            memcpy(stored.s, want.text, want.len);
            stored.s[want.len] = '\0';
            stored.n = want.len;
            have = true;
        }
    }
    wcol_hbmerge_stats(s_cm, &after);
    print_message("%u chained merges: sticky state %llu hits, %llu misses, %llu stale\n", cases,
                  (unsigned long long)(after.hits - before.hits),
                  (unsigned long long)(after.misses - before.misses),
                  (unsigned long long)(after.stale - before.stale));
    assert_true(after.hits - before.hits > cases / 20); /* the state is used, not only built */
    assert_int_equal(after.stale, before.stale);        /* nothing else writes this device */
}

/* Devices reporting as agents do: every merge of a stored heartbeat is made in C. */
/* What store_sqlite.c's devices_now shows for a device whose beat (seq, t_ms) is newer than
 * its stored document: the stored document with seq, t_ms and the derived uptime_ms set. */
static void overlay(const struct buf *stored, int64_t seq, int64_t t_ms, struct result *r)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(s_db,
                                        "SELECT json_set(?1, '$.seq', ?2, '$.t_ms', ?3, "
                                        "'$.uptime_ms', ?3 - json_extract(?1, '$.t_ms') + "
                                        "json_extract(?1, '$.uptime_ms'))",
                                        -1, &st, NULL),
                     SQLITE_OK);
    memset(r, 0, sizeof(*r));
    bind_doc(st, 1, stored);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_int64(st, 3, t_ms);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    r->len = (size_t)sqlite3_column_bytes(st, 0);
    assert_true(r->len < sizeof(r->text));
    memcpy(r->text, sqlite3_column_text(st, 0), r->len);
    sqlite3_finalize(st);
}

/*
 * Agent-like sequences per device. Where wcol_hbmerge_liveness() answers that a compact
 * heartbeat changes only seq, t_ms and uptime_ms, the SQL merge's text is the stored document
 * with those set (what the store shows from its beats table instead of merging): the merge is
 * a fixpoint but for them. It answers so for some, and never for a heartbeat with more.
 */
static void test_agent_sequences(void **state)
{
    static struct buf stored, nw;
    struct result want, shown;
    struct wcol_hbmerge_stats before, after;
    unsigned merges = 0, compact = 0, live = 0;
    char id[16];

    (void)state;
    wcol_hbmerge_stats(s_cm, &before);
    for (unsigned dev = 0; dev < 40; dev++) {
        snprintf(id, sizeof(id), "agent-%u", dev);
        unsigned t_ms = rnd(100000);
        bool have = false;

        for (unsigned seq = 1; seq <= 30; seq++) {
            t_ms += 1000 + rnd(100);
            bool full = !have || rnd(8) == 0;

            compact += have && !full;
            gen_agent_doc(&nw, full, seq, t_ms);
            int64_t l_seq = -1, l_t_ms = -1;
            bool is_live =
                have && wcol_hbmerge_liveness(s_cm, id, strlen(id), nw.s, nw.n, &l_seq, &l_t_ms);

            assert_int_equal(check_pair(have ? &stored : NULL, &nw, id, &want), have);
            if (is_live) {
                live++;
                assert_true(strchr(nw.s + 1, '{') == NULL); /* no health, events, ... */
                assert_int_equal(l_seq, seq);
                assert_int_equal(l_t_ms, t_ms);
                overlay(&stored, l_seq, l_t_ms, &shown);
                assert_int_equal(shown.len, want.len);
                assert_memory_equal(shown.text, want.text, want.len);
            }
            assert_int_equal(want.rc, SQLITE_ROW);
            memcpy(stored.s, want.text, want.len);
            stored.s[want.len] = '\0';
            stored.n = want.len;
            merges += have;
            have = true;
        }
    }
    assert_int_equal(merges, 40 * 29);
    /* Every compact merge used the state but a device's first, when its first report (not a
     * merge: stored as it came) was not seen by the C merge: at most one miss per device. A
     * full heartbeat's state is kept as it is stored. */
    wcol_hbmerge_stats(s_cm, &after);
    assert_int_equal(after.hits - before.hits + after.misses - before.misses, compact);
    assert_true(after.misses - before.misses <= 40);
    assert_int_equal(after.stale, before.stale);
    assert_int_equal(after.liveness - before.liveness, live);
    print_message("liveness only: %u of %u compact heartbeats\n", live, compact);
    assert_true(live > 40);
}

/* docs/protocol.md: a compact heartbeat keeps the full one's sticky fields, a derived
 * uptime_ms, the events counters without "pending" and the last health summary. */
static void test_compact_after_full(void **state)
{
    static struct buf old, nw;
    static const char want_text[] =
        "{\"v\":2,\"seq\":2,\"t_ms\":62000,\"config\":\"d4\",\"uptime_ms\":61000,"
        "\"interval_ms\":60000,\"firmware\":\"0.1.0\",\"board\":\"b\",\"arch\":\"x86_64\","
        "\"config_sha256\":\"aa\",\"loop\":{\"lag_max_ms\":3},\"events\":{\"last_seq\":2},"
        "\"health\":{\"state\":\"ok\",\"sensors\":4},\"memory\":{\"context_bytes\":1}}";
    struct result want;

    (void)state;
    set_doc(&old, "{\"v\":2,\"seq\":1,\"t_ms\":61000,\"uptime_ms\":60000,\"interval_ms\":60000,"
                  "\"firmware\":\"0.1.0\",\"board\":\"b\",\"arch\":\"x86_64\","
                  "\"config_sha256\":\"aa\",\"health\":{\"state\":\"ok\",\"sensors\":4},"
                  "\"events\":{\"pending\":2,\"last_seq\":2},\"loop\":{\"lag_max_ms\":3},"
                  "\"memory\":{\"context_bytes\":1}}");
    set_doc(&nw, "{\"v\":2, \"seq\":2, \"t_ms\":62000, \"config\":\"d4\"}");
    assert_int_equal(check_pair(&old, &nw, NULL, &want), 1);
    assert_int_equal(want.len, strlen(want_text));
    assert_memory_equal(want.text, want_text, want.len);
    /* A full heartbeat is stored as it came, whitespace and all. */
    set_doc(&nw, "{\"v\":2, \"seq\":3, \"t_ms\":63000, \"config_sha256\":\"bb\"}");
    assert_int_equal(check_pair(&old, &nw, NULL, &want), 1);
    assert_memory_equal(want.text, nw.s, nw.n);
}

/* One merge through ctx for device dev, against the SQL merge; the stored text into *out. */
static void sticky_merge(struct wcol_hbmerge *ctx, const char *dev, const struct buf *old,
                         const char *nw_text, struct buf *out)
{
    static struct buf nw;
    struct result want;
    const char *text = NULL;
    size_t len = 0;

    set_doc(&nw, nw_text);
    run(s_sql, old, &nw, NULL, &want);
    int rc = wcol_hbmerge_run(ctx, dev, strlen(dev), old->s, old->n, nw.s, nw.n, &text, &len);

    if (rc == 1) {
        text = nw.s;
        len = nw.n;
    }
    assert_true(rc >= 0);
    assert_int_equal(want.rc, SQLITE_ROW);
    if (want.len != len || memcmp(want.text, text, len) != 0) {
        print_error("dev %s\nold: %s\nnew: %s\nSQL: %.*s\nC: %.*s\n", dev, old->s, nw.s,
                    (int)want.len, want.text, (int)len, text);
        fail();
    }
    memcpy(out->s, want.text, want.len);
    out->s[want.len] = '\0';
    out->n = want.len;
}

static void expect_stats(struct wcol_hbmerge *ctx, uint64_t hits, uint64_t misses, uint64_t stale,
                         uint64_t evictions, uint32_t devices)
{
    struct wcol_hbmerge_stats st;

    wcol_hbmerge_stats(ctx, &st);
    assert_int_equal(st.hits, hits);
    assert_int_equal(st.misses, misses);
    assert_int_equal(st.stale, stale);
    assert_int_equal(st.evictions, evictions);
    assert_int_equal(st.devices, devices);
}

#define FULL_A                                                                                     \
    "{\"v\":2,\"seq\":1,\"t_ms\":61000,\"uptime_ms\":60000,\"interval_ms\":60000,"                 \
    "\"firmware\":\"0.1.0\",\"board\":\"b\",\"arch\":\"x86_64\",\"config_sha256\":\"aa\","         \
    "\"health\":{\"state\":\"ok\",\"sensors\":4},\"events\":{\"pending\":2,\"last_seq\":2},"       \
    "\"loop\":{\"lag_max_ms\":3},\"memory\":{\"context_bytes\":1,\"x\":[true,null,-0]}}"

/* The sticky state: hit, miss, a stored document changed behind it, a rolled-back write, a
 * declined merge, eviction at the cap; the text is the SQL merge's every time. */
static void test_sticky_state(void **state)
{
    struct wcol_hbmerge *k = wcol_hbmerge_new(2);
    static struct buf full, s1, s2, s3, other, out, c1;

    (void)state;
    assert_non_null(k);
    set_doc(&other, "{\"t_ms\":5,\"uptime_ms\":5,\"firmware\":\"9\"}");
    /* A full heartbeat is stored as it came and its state kept: the next merge is a hit. */
    sticky_merge(k, "a", &other, FULL_A, &full);
    expect_stats(k, 0, 0, 0, 0, 1);
    sticky_merge(k, "a", &full, "{\"v\":2,\"seq\":2,\"t_ms\":62000}", &s1);
    expect_stats(k, 1, 0, 0, 0, 1);
    sticky_merge(k, "a", &s1,
                 "{\"v\":2,\"seq\":3,\"t_ms\":63000,\"events\":{\"pending\":1,\"last_seq\":3},"
                 "\"health\":{\"state\":\"unavailable\",\"not_ok\":1}}",
                 &s2);
    sticky_merge(k, "a", &s2, "{\"v\":2,\"seq\":4,\"t_ms\":64000,\"loop\":{\"lag_max_ms\":9}}",
                 &s3);
    expect_stats(k, 3, 0, 0, 0, 1);
    /* The same length, one sticky value changed behind the state (an operator's restore of
     * another firmware's document): only the bytes tell, and they are compared. */
    out = s3;
    char *fw = strstr(out.s, "\"0.1.0\"");

    assert_non_null(fw);
    memcpy(fw, "\"0.9.9\"", 7);
    sticky_merge(k, "a", &out, "{\"v\":2,\"seq\":5,\"t_ms\":64500}", &s3);
    expect_stats(k, 3, 0, 1, 0, 1);
    assert_non_null(strstr(s3.s, "\"firmware\":\"0.9.9\""));
    /* A device without state: parsed (a miss), and its state kept from then on. */
    sticky_merge(k, "b", &s1, "{\"v\":2,\"seq\":9,\"t_ms\":70000}", &out);
    expect_stats(k, 3, 1, 1, 0, 2);
    /* The stored document changed behind the state (another writer, a restore): not used. */
    sticky_merge(k, "a", &other, "{\"v\":2,\"seq\":5,\"t_ms\":65000}", &out);
    expect_stats(k, 3, 1, 2, 0, 2);
    /* A write rolled back: the stored document is the one before the last merge. */
    sticky_merge(k, "a", &s1, "{\"v\":2,\"seq\":6,\"t_ms\":66000}", &out);
    expect_stats(k, 3, 1, 3, 0, 2);
    sticky_merge(k, "a", &out, "{\"v\":2,\"seq\":7,\"t_ms\":67000}", &out);
    expect_stats(k, 4, 1, 3, 0, 2);
    /* A merge the C code declines forgets the state: the SQL merge stores the document. */
    set_doc(&s2, "{\"v\":2,\"t_ms\":68000,\"x\":\"a\\\"b\"}");
    const char *text;
    size_t len;

    assert_int_equal(wcol_hbmerge_run(k, "a", 1, out.s, out.n, s2.s, s2.n, &text, &len), -ENOTSUP);
    sticky_merge(k, "a", &out, "{\"v\":2,\"seq\":8,\"t_ms\":69000}", &s3);
    expect_stats(k, 4, 2, 3, 0, 2);
    /* A third device at the cap of two takes the slot of one (the clock's victim, "a": both
     * were used since the hand last passed, so it clears both and takes the first). */
    sticky_merge(k, "c", &s1, "{\"v\":2,\"seq\":1,\"t_ms\":80000}", &c1);
    expect_stats(k, 4, 3, 3, 1, 2);
    sticky_merge(k, "a", &s3, "{\"v\":2,\"seq\":9,\"t_ms\":70000}", &out);
    expect_stats(k, 4, 4, 3, 2, 2); /* "a" lost its state; it takes "b"'s slot, not "c"'s */
    sticky_merge(k, "c", &c1, "{\"v\":2,\"seq\":2,\"t_ms\":81000}", &c1);
    expect_stats(k, 5, 4, 3, 2, 2);
    sticky_merge(k, "a", &out, "{\"v\":2,\"seq\":10,\"t_ms\":71000}", &out);
    expect_stats(k, 6, 4, 3, 2, 2);
    wcol_hbmerge_free(k);
}

/*
 * Arrays and objects copied as their text (copy_span() in hbmerge.c) count as nested as they
 * are: a compact heartbeat's member "x" whose innermost object is 64 deep makes a text that
 * keeps no state (hbmerge.c: o->deep), whether "x" is copied or rendered token by token, so the
 * next merge parses the stored text (a miss); 63 deep keeps it (a hit). The text is the SQL
 * merge's every time.
 */
static void test_span_depth(void **state)
{
    struct wcol_hbmerge *k = wcol_hbmerge_new(4);
    static struct buf other, full, out;
    static char doc[1024];

    (void)state;
    assert_non_null(k);
    set_doc(&other, "{\"t_ms\":5}");
    for (int deep = 63; deep <= 64; deep++) {
        const char *dev = deep == 63 ? "a" : "b";
        int n = snprintf(doc, sizeof(doc), "{\"v\":2,\"seq\":2,\"t_ms\":2,\"x\":");

        for (int i = 1; i < deep; i++) { /* "x" is 1 deep, the innermost object `deep` */
            doc[n++] = '[';
        }
        doc[n++] = '{';
        doc[n++] = '}';
        for (int i = 1; i < deep; i++) {
            doc[n++] = ']';
        }
        snprintf(doc + n, sizeof(doc) - (size_t)n, "}");
        sticky_merge(k, dev, &other, "{\"v\":2,\"t_ms\":1,\"config_sha256\":\"aa\"}", &full);
        sticky_merge(k, dev, &full, doc, &out); /* a hit: the full heartbeat's state */
        sticky_merge(k, dev, &out, "{\"v\":2,\"seq\":3,\"t_ms\":3}", &out);
    }
    expect_stats(k, 3, 1, 0, 0, 2);
    wcol_hbmerge_free(k);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("%s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        fail();
    }
}

static void upsert(sqlite3_stmt *st, const char *dev, const struct buf *hb)
{
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, hb->s, (int)hb->n, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
}

/*
 * The store's UPSERT (state kept, at most 4 of 6 devices) and the SQL merge's, side by side in
 * two tables, through agent-like heartbeats and what else writes a stored heartbeat: another
 * writer's change of a sticky value (of another length, and of the same length), a request
 * rolled back to its savepoint. The two tables hold the same text after every step.
 */
static void test_store_upsert(void **state)
{
    enum { DEVS = 6, STEPS = 1500 };
    sqlite3 *db;
    struct wcol_hbmerge *ctx = NULL;
    sqlite3_stmt *up_c, *up_s, *same;
    static struct buf hb;
    unsigned seq[DEVS] = { 0 }, t_ms[DEVS] = { 0 };
    struct wcol_hbmerge_stats st;
    char dev[8], sql[256];

    (void)state;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(wcol_hbmerge_sql_define(db, 4, &ctx), 0);
    exec_ok(db, "CREATE TABLE c (id TEXT PRIMARY KEY, hb TEXT);"
                "CREATE TABLE s (id TEXT PRIMARY KEY, hb TEXT)");
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO c VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE "
                                        "SET hb = " HEARTBEAT_MERGE_C_OF("hb", "excluded.hb", "id"),
                                        -1, &up_c, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO s VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE "
                                        "SET hb = " HEARTBEAT_MERGE_OF("hb", "excluded.hb"),
                                        -1, &up_s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT hb FROM c WHERE id = ?1) IS "
                                        "(SELECT hb FROM s WHERE id = ?1)",
                                        -1, &same, NULL),
                     SQLITE_OK);
    for (unsigned i = 0; i < STEPS; i++) {
        unsigned d = rnd(DEVS), what = rnd(24);

        snprintf(dev, sizeof(dev), "d%u", d);
        if (seq[d] > 0 && what < 2) { /* another writer: a value of another length, the same */
            for (const char *t = "cs"; *t != '\0'; t++) {
                snprintf(sql, sizeof(sql),
                         what == 0 ? "UPDATE %c SET hb = json_set(hb, '$.firmware', '1.0.%u') "
                                     "WHERE id = 'd%u'"
                                   : "UPDATE %c SET hb = replace(hb, '\"x86_64\"', '\"x86_%02u\"') "
                                     "WHERE id = 'd%u'",
                         *t, i % 100, d);
                exec_ok(db, sql);
            }
            continue;
        }
        t_ms[d] += 1000 + rnd(100);
        bool full = seq[d] == 0 || rnd(10) == 0;

        gen_agent_doc(&hb, full, ++seq[d], t_ms[d]);
        if (what == 2) {
            exec_ok(db, "SAVEPOINT req");
        }
        upsert(up_c, dev, &hb);
        upsert(up_s, dev, &hb);
        if (what == 2) {
            exec_ok(db, "ROLLBACK TO req; RELEASE req"); /* a failed request: nothing stored */
        }
        sqlite3_bind_text(same, 1, dev, -1, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(same), SQLITE_ROW);
        if (sqlite3_column_int(same, 0) != 1) {
            print_error("step %u, device %s: the store's UPSERT and the SQL merge differ\n", i,
                        dev);
            fail();
        }
        sqlite3_reset(same);
    }
    wcol_hbmerge_stats(ctx, &st);
    print_message("%u steps: sticky state %llu hits, %llu misses, %llu stale, %llu evictions\n",
                  STEPS, (unsigned long long)st.hits, (unsigned long long)st.misses,
                  (unsigned long long)st.stale, (unsigned long long)st.evictions);
    assert_true(st.hits > STEPS / 4 && st.stale > 0 && st.evictions > 0 && st.devices == 4);
    sqlite3_finalize(up_c);
    sqlite3_finalize(up_s);
    sqlite3_finalize(same);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_after_full), cmocka_unit_test(test_agent_sequences),
        cmocka_unit_test(test_sticky_state),       cmocka_unit_test(test_span_depth),
        cmocka_unit_test(test_store_upsert),       cmocka_unit_test(test_random),
        cmocka_unit_test(test_random_chain),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

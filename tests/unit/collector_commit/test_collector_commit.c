/*
 * Group commit and after-commit subscribers against a fake store that records what it was
 * given and when it committed: a subscriber must see a request's report and events only
 * after the store's COMMIT, in arrival order; a failed commit publishes nothing and answers
 * every request with committed = false; a request the store could not take fails alone; the
 * fleet's state changes ride in the same batch and are published after the commit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "commit/bus.h"
#include "commit/group.h"
#include "fleet/fleet.h"
#include "store/store.h"

/* ---- fake store ---- */

struct fake {
    int fail_commit;  /* commit_batch returns this (0: commit) */
    int fail_put;     /* index of a put that fails on its own, -1 none */
    bool committed;   /* set once COMMIT "returned" */
    unsigned batches; /* commit_batch calls */
    unsigned n_puts;  /* puts of the last batch */
    unsigned n_changes;
    char last_change_doc[256];
};

static int fake_commit_batch(void *impl, struct wcol_store_batch *b)
{
    struct fake *f = impl;

    f->batches++;
    f->n_puts = b->n_puts;
    f->n_changes = b->n_changes;
    f->committed = false;
    for (unsigned i = 0; i < b->n_puts; i++) {
        struct wcol_store_put *p = &b->puts[i];

        p->status = (int)i == f->fail_put ? -EIO : 0;
        p->stored = p->duplicates = 0;
        for (unsigned e = 0; e < p->n_events; e++) {
            p->events[e].inserted = p->events[e].seq != 2; /* seq 2: "already stored" */
            p->stored += p->events[e].inserted;
            p->duplicates += !p->events[e].inserted;
        }
        for (unsigned a = 0; a < p->n_acks; a++) {
            p->acks[a].seq = 7;
        }
    }
    if (b->n_changes > 0) {
        snprintf(f->last_change_doc, sizeof(f->last_change_doc), "%.*s",
                 (int)b->changes[0].event.doc_len, b->changes[0].event.doc);
    }
    if (f->fail_commit != 0) {
        return f->fail_commit;
    }
    f->committed = true;
    return 0;
}

static int fake_expire(void *impl, int64_t cutoff, unsigned max, struct wcol_store_expired *out)
{
    (void)impl;
    (void)cutoff;
    (void)max;
    *out = (struct wcol_store_expired){ 0 };
    return 0;
}

static const struct wcol_store_ops s_fake_ops = {
    .name = "fake",
    .commit_batch = fake_commit_batch,
    .expire = fake_expire,
};

/* ---- what subscribers and finish() saw ---- */

struct seen {
    struct fake *store;
    char log[512];          /* "R:dev-a E:1 S:dev-c:silent F:dev-a:1 ..." in call order */
    unsigned before_commit; /* calls made while the store had not committed */
};

static struct fake s_fake;
static struct seen s_seen;

/* One entry "K:a:b " of the call log. */
static void note(char kind, const char *a, long b)
{
    size_t n = strlen(s_seen.log);

    snprintf(s_seen.log + n, sizeof(s_seen.log) - n, "%c:%s:%ld ", kind, a, b);
    s_seen.before_commit += !s_seen.store->committed;
}

static void on_report(void *ctx, const struct wcol_msg *m)
{
    (void)ctx;
    note('R', m->u.report.report->device, (long)m->u.report.stored);
}

static void on_event(void *ctx, const struct wcol_msg *m)
{
    (void)ctx;
    note('E', m->u.event->device, (long)m->u.event->seq);
}

static void on_state(void *ctx, const struct wcol_msg *m)
{
    (void)ctx;
    note('S', m->u.state.to, (long)m->u.state.at_ms);
}

struct req {
    struct wcol_group_item item;
    struct wcol_store_report report;
    struct wcol_store_event events[2];
    struct wcol_store_ack ack;
    int finished; /* 0 not yet, 1 committed, 2 not committed */
    int status;
};

static void finish(struct wcol_group_item *item, bool committed)
{
    struct req *r = (struct req *)item;

    r->finished = committed ? 1 : 2;
    r->status = item->put.status;
    note('F', r->report.device, committed);
}

static void make_req(struct req *r, const char *device)
{
    memset(r, 0, sizeof(*r));
    r->report.device = device;
    r->report.has_heartbeat = true;
    r->report.boot_id = "b1";
    for (int i = 0; i < 2; i++) {
        r->events[i].device = device;
        r->events[i].boot_id = "b1";
        r->events[i].seq = i + 1;
    }
    r->ack.boot_id = "b1";
    r->item.put.device = device;
    r->item.put.report = &r->report;
    r->item.put.events = r->events;
    r->item.put.n_events = 2;
    r->item.put.acks = &r->ack;
    r->item.put.n_acks = 1;
    r->item.finish = finish;
}

static struct wcol_store s_store = { .ops = &s_fake_ops, .impl = &s_fake };
static struct wcol_bus s_bus;
static struct wcol_group s_group;

static int setup(void **state)
{
    (void)state;
    memset(&s_fake, 0, sizeof(s_fake));
    s_fake.fail_put = -1;
    memset(&s_seen, 0, sizeof(s_seen));
    s_seen.store = &s_fake;
    memset(&s_bus, 0, sizeof(s_bus));
    assert_int_equal(wcol_bus_subscribe(&s_bus, WCOL_TOPIC_REPORT_RECEIVED, on_report, NULL), 0);
    assert_int_equal(wcol_bus_subscribe(&s_bus, WCOL_TOPIC_EVENT_STORED, on_event, NULL), 0);
    assert_int_equal(wcol_bus_subscribe(&s_bus, WCOL_TOPIC_DEVICE_STATE, on_state, NULL), 0);
    wcol_group_init(&s_group, &s_store, NULL, &s_bus, 2);
    return 0;
}

static void test_published_after_commit_in_order(void **state)
{
    struct req a, b;

    (void)state;
    make_req(&a, "dev-a");
    make_req(&b, "dev-b");
    wcol_group_add(&s_group, &a.item);
    assert_false(wcol_group_full(&s_group));
    wcol_group_add(&s_group, &b.item);
    assert_true(wcol_group_full(&s_group));
    assert_true(wcol_group_pending(&s_group));
    /* Nothing is published or answered while the requests wait in the group. */
    assert_string_equal(s_seen.log, "");
    assert_int_equal(wcol_group_commit(&s_group), 0);
    assert_int_equal(s_fake.batches, 1);
    assert_int_equal(s_fake.n_puts, 2);
    assert_int_equal(s_seen.before_commit, 0);
    /* Seq 2 is a duplicate: not "event stored". Reports and events first, then answers. */
    assert_string_equal(s_seen.log, "R:dev-a:1 E:dev-a:1 R:dev-b:1 E:dev-b:1 F:dev-a:1 F:dev-b:1 ");
    assert_int_equal(a.ack.seq, 7);
    assert_int_equal(s_group.stats.events_stored, 2);
    assert_int_equal(s_group.stats.events_duplicate, 2);
    assert_int_equal(s_group.stats.commits, 1);
    assert_false(wcol_group_pending(&s_group));
}

static void test_failed_commit_publishes_nothing(void **state)
{
    struct req a;

    (void)state;
    s_fake.fail_commit = -EIO;
    make_req(&a, "dev-a");
    wcol_group_add(&s_group, &a.item);
    assert_int_equal(wcol_group_commit(&s_group), -EIO);
    assert_string_equal(s_seen.log, "F:dev-a:0 ");
    assert_int_equal(a.finished, 2);
    assert_int_equal(s_group.stats.commit_failures, 1);
    assert_int_equal(s_group.stats.events_stored, 0);
}

static void test_request_failing_alone(void **state)
{
    struct req a, b;

    (void)state;
    s_fake.fail_put = 0;
    make_req(&a, "dev-a");
    make_req(&b, "dev-b");
    wcol_group_add(&s_group, &a.item);
    wcol_group_add(&s_group, &b.item);
    assert_int_equal(wcol_group_commit(&s_group), 0);
    assert_int_equal(a.status, -EIO);
    assert_int_equal(b.status, 0);
    assert_string_equal(s_seen.log, "R:dev-b:1 E:dev-b:1 F:dev-a:1 F:dev-b:1 ");
    assert_int_equal(s_group.stats.stage_failures, 1);
}

static void test_fleet_changes_ride_the_batch(void **state)
{
    struct wcol_fleet fleet;
    struct wcol_fleet_report rep = { .has_heartbeat = true, .interval_ms = 1000 };
    struct req a;

    (void)state;
    assert_int_equal(wcol_fleet_init(&fleet, 8, 3, 1000), 0);
    wcol_group_init(&s_group, &s_store, &fleet, &s_bus, 8);
    assert_non_null(wcol_fleet_heard(&fleet, "dev-c", &rep, 1000, 1000));
    assert_int_equal(wcol_fleet_check(&fleet, 9000, 9000, 0), 1); /* 8 s > 3 x 1 s: silent */
    assert_true(wcol_group_pending(&s_group));

    /* A failed commit keeps the change pending and publishes nothing. */
    s_fake.fail_commit = -EBUSY;
    assert_int_equal(wcol_group_commit(&s_group), -EBUSY);
    assert_int_equal(s_fake.n_changes, 1);
    assert_string_equal(s_seen.log, "");
    assert_true(wcol_group_pending(&s_group));

    s_fake.fail_commit = 0;
    make_req(&a, "dev-a");
    wcol_group_add(&s_group, &a.item);
    assert_int_equal(wcol_group_commit(&s_group), 0);
    assert_int_equal(s_fake.n_changes, 1);
    assert_int_equal(s_seen.before_commit, 0);
    /* The state change (stored in this batch) is heard first, at its transition time. */
    assert_string_equal(s_seen.log, "S:silent:9000 R:dev-a:1 E:dev-a:1 F:dev-a:1 ");
    /* The event document: the JSON writer's, with the severity table's name for high. */
    assert_string_equal(s_fake.last_change_doc,
                        "{\"sensor\":\"device\",\"from\":\"up\",\"to\":\"silent\","
                        "\"severity\":\"high\",\"source\":\"collector\","
                        "\"last_heartbeat_ms\":1000}");
    assert_false(wcol_group_pending(&s_group));
    wcol_fleet_free(&fleet);
}

/* Rows written by other collectors (the cluster's fleet sync): a newer heartbeat moves the
 * window, judged from its wall-clock age but never before this collector's start; another
 * collector's transition is taken unless one of this collector's own waits. */
static void test_fleet_merge_rows_of_other_collectors(void **state)
{
    struct wcol_fleet fleet;
    struct wcol_fleet_report rep = { .has_heartbeat = true, .interval_ms = 1000 };
    struct wcol_store_device row = { .id = "dev-x",
                                     .state = "up",
                                     .first_seen_ms = 1000,
                                     .last_seen_ms = 100000,
                                     .last_heartbeat_ms = 100000,
                                     .interval_ms = 1000 };

    (void)state;
    assert_int_equal(wcol_fleet_init(&fleet, 2, 3, 1000), 0);
    /* Wall clock 101000 = monotonic 50000; started at monotonic 40000. */
    assert_int_equal(wcol_fleet_merge(&fleet, &row, 101000, 50000, 40000), 0);
    struct wcol_fleet_device *d = wcol_fleet_find(&fleet, "dev-x");

    assert_non_null(d);
    assert_int_equal(d->last_hb_mono, 49000); /* heard 1 s ago, on another collector */
    assert_int_equal(fleet.up, 1);
    /* Read back 2 s ago: the device may have reported since, so not silent before 3 + 2 s. */
    assert_int_equal(wcol_fleet_check(&fleet, 103100, 52100, 2000), 0);
    assert_int_equal(wcol_fleet_check(&fleet, 105000, 54000, 2000), 0);
    assert_int_equal(wcol_fleet_check(&fleet, 103000, 52000, 0), 0); /* 3 s: not yet */
    assert_int_equal(wcol_fleet_check(&fleet, 103100, 52100, 0), 1); /* 3.1 s: silent */
    wcol_fleet_committed(&fleet, false);
    /* Its own change waits: a stored "up" does not undo it. */
    assert_int_equal(wcol_fleet_merge(&fleet, &row, 103200, 52200, 40000), 0);
    assert_int_equal(d->state, WCOL_FLEET_SILENT);
    struct wcol_fleet_changes ch;

    assert_int_equal(wcol_fleet_stage(&fleet, 103200, &ch), 0);
    wcol_fleet_changes_free(&ch);
    wcol_fleet_committed(&fleet, true);
    /* Another collector heard it again: up, no transition of this collector's own. */
    row.last_heartbeat_ms = row.last_seen_ms = 104000;
    uint64_t transitions = fleet.transitions;

    assert_int_equal(wcol_fleet_merge(&fleet, &row, 104500, 53500, 40000), 0);
    assert_int_equal(d->state, WCOL_FLEET_UP);
    assert_int_equal(d->last_hb_mono, 53000);
    assert_int_equal(fleet.up, 1);
    assert_int_equal(fleet.silent, 0);
    assert_int_equal(fleet.transitions, transitions);
    assert_false(wcol_fleet_dirty(&fleet));
    /* An old heartbeat never moves the window before this collector's start. */
    row.id = "dev-y";
    row.last_heartbeat_ms = 1000;
    assert_int_equal(wcol_fleet_merge(&fleet, &row, 104500, 53500, 40000), 0);
    assert_int_equal(wcol_fleet_find(&fleet, "dev-y")->last_hb_mono, 40000);
    /* Full: the row is not taken. */
    row.id = "dev-z";
    assert_int_equal(wcol_fleet_merge(&fleet, &row, 104500, 53500, 40000), -ENOSPC);
    assert_non_null(wcol_fleet_heard(&fleet, "dev-x", &rep, 105000, 54000));
    wcol_fleet_free(&fleet);
}

static void noop(void *ctx, const struct wcol_msg *m)
{
    (void)ctx;
    (void)m;
}

static void test_bus_bounded(void **state)
{
    struct wcol_bus bus = { .n = 0 };

    (void)state;
    for (unsigned i = 0; i < WCOL_BUS_MAX; i++) {
        assert_int_equal(wcol_bus_subscribe(&bus, WCOL_TOPIC_EVENT_STORED, noop, NULL), 0);
    }
    assert_int_equal(wcol_bus_subscribe(&bus, WCOL_TOPIC_EVENT_STORED, noop, NULL), -ENOSPC);
    assert_int_equal(wcol_bus_subscribe(&bus, WCOL_TOPIC_COUNT, noop, NULL), -EINVAL);
    assert_int_equal(wcol_bus_subscribe(&bus, WCOL_TOPIC_EVENT_STORED, NULL, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_published_after_commit_in_order, setup),
        cmocka_unit_test_setup(test_failed_commit_publishes_nothing, setup),
        cmocka_unit_test_setup(test_request_failing_alone, setup),
        cmocka_unit_test_setup(test_fleet_changes_ride_the_batch, setup),
        cmocka_unit_test(test_fleet_merge_rows_of_other_collectors),
        cmocka_unit_test(test_bus_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

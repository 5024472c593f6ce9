/*
 * Fuzz harness for the journal's recovery (firmware/transport/src/journal.c): the input is
 * the raw contents of the agent's journal store as found after a restart (torn tails, bad
 * sectors, forged headers), held in a RAM store. Restoring must never fail on a healthy store,
 * every indexed event must read back intact, a second restore of what the first one left must
 * index the same events, and the journal must keep working (append, ack) afterwards.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/transport/journal.h"
#include "ward/transport/store_ram.h"

#define STORE_CAP (64u * 1024u)
#define IDX_CAP   16u /* small, so recovery has to evict */
#define MAX_BYTES (4u * (WARD_JOURNAL_HDR + WARD_JOURNAL_MAX_PAYLOAD))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t s_storage[STORE_CAP];
static struct ward_store_ram s_ram;
static struct ward_journal s_j;
static struct ward_journal_entry s_idx[IDX_CAP];
static struct ward_journal_key s_keys[IDX_CAP];
static uint8_t s_payload[WARD_JOURNAL_MAX_PAYLOAD];

static uint32_t restore_and_check(void)
{
    uint32_t n;

    if (ward_journal_open(&s_j, ward_store_ram(&s_ram), s_idx, IDX_CAP, MAX_BYTES) != 0) {
        abort(); /* the RAM store never fails: damaged contents must not stop the agent */
    }
    n = ward_journal_count(&s_j);
    if (n > IDX_CAP || s_j.size > s_ram.len) {
        abort();
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t sev = 0xff;
        int len = ward_journal_get(&s_j, i, &s_keys[i], &sev, s_payload, sizeof(s_payload));

        if (len < 0 || len > (int)WARD_JOURNAL_MAX_PAYLOAD || sev >= WARD_JOURNAL_SEVERITIES) {
            abort();
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_journal_key first[IDX_CAP];
    struct ward_journal_key key;
    uint32_t n;

    if (size > STORE_CAP || ward_store_ram_init(&s_ram, s_storage, sizeof(s_storage)) != 0) {
        return 0;
    }
    memcpy(s_storage, data, size);
    s_ram.len = size;
    s_ram.synced = size;

    n = restore_and_check();
    memcpy(first, s_keys, sizeof(first));
    if (restore_and_check() != n || memcmp(first, s_keys, n * sizeof(first[0])) != 0) {
        abort(); /* recovery is not idempotent */
    }

    /* Still usable: a new event goes in and an acknowledgement frees what it names. */
    memset(&key, 0, sizeof(key));
    memcpy(key.boot_id, "fuzz-restore-new", WARD_JOURNAL_BOOT_ID_LEN);
    key.seq = 1;
    int rc = ward_journal_append(&s_j, &key, 2, "x", 1);

    if (rc != 0 && rc != -ENOBUFS && rc != -EEXIST) {
        abort();
    }
    if (n > 0 && ward_journal_ack(&s_j, first[0].boot_id, first[0].seq) < 0) {
        abort();
    }
    if (ward_journal_sync(&s_j) != 0 || ward_journal_count(&s_j) > IDX_CAP) {
        abort();
    }
    return 0;
}

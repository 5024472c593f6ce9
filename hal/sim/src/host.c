/*
 * Simulated host load. CPU ticks are the integral of the utilisation signals, sampled at the
 * start of each step: 1 s steps for the first 2^22 ms (70 min) of virtual time, then steps of
 * 1/1024 of the time elapsed (a power of two ms), so reading a clock far in the future costs
 * at most 1024 steps per doubling. A pure function of time; the running sum is a cache.
 */
#include <errno.h>

#include "sim_internal.h"

#define STEP_MS   1000
#define EXACT_MS  ((int64_t)1 << 22)
#define FRAC_UNIT 100000u /* percent (100) x ms per s (1000): one tick */

static struct ward_sim *sim_of(const struct ward_device *dev)
{
    return (struct ward_sim *)dev->data;
}

/* Utilisation of each state at time t, idle being what is left; the first failure's status. */
static void cpu_pcts(const struct ward_sim *sim, int64_t t, int64_t pct[WARD_CPU_STATE_COUNT],
                     struct ward_sim_sample *status)
{
    const struct ward_sim_cpu *c = &sim->host.cpu;
    int64_t busy = 0;
    struct ward_sim_sample s;

    status->status = WARD_STATUS_OK;
    status->reason = WARD_REASON_NONE;
    for (int i = 0; i < WARD_CPU_STATE_COUNT; i++) {
        pct[i] = 0;
        if (i == WARD_CPU_IDLE) {
            continue;
        }
        ward_sim_eval(sim, c->pct[i], t, &s);
        if (s.status != WARD_STATUS_OK && status->status == WARD_STATUS_OK) {
            *status = s;
        }
        pct[i] = s.value;
        busy += s.value;
    }
    pct[WARD_CPU_IDLE] = busy < 100 ? 100 - busy : 0;
}

/* Add dt ms at the utilisation sampled at t to ticks/frac. */
static void cpu_accumulate(const struct ward_sim *sim, int64_t t, int64_t dt,
                           uint64_t ticks[WARD_CPU_STATE_COUNT],
                           uint32_t frac[WARD_CPU_STATE_COUNT])
{
    const struct ward_sim_cpu *c = &sim->host.cpu;
    int64_t pct[WARD_CPU_STATE_COUNT];
    struct ward_sim_sample st;

    cpu_pcts(sim, t, pct, &st);
    for (int i = 0; i < WARD_CPU_STATE_COUNT; i++) {
        /* ticks = pct * ncpu * hz * dt / 100000, exactly, without overflowing for long dt */
        uint64_t r = (uint64_t)pct[i] * c->ncpu * c->ticks_per_second;
        uint64_t rem = (r % FRAC_UNIT) * ((uint64_t)dt % FRAC_UNIT) % FRAC_UNIT + frac[i];

        ticks[i] += (uint64_t)ward_sim_muldiv((int64_t)r, dt, FRAC_UNIT) + rem / FRAC_UNIT;
        frac[i] = (uint32_t)(rem % FRAC_UNIT);
    }
}

/* Where the step starting at `from` ends (see the top of the file). */
static int64_t step_end(int64_t from)
{
    int k = 63;

    if (from < EXACT_MS) {
        return from + STEP_MS < EXACT_MS ? from + STEP_MS : EXACT_MS;
    }
    /* from >= EXACT_MS > 0 here: shifting a positive value right is well defined */
    // cppcheck-suppress shiftTooManyBitsSigned
    while (k > 22 && (from >> k) == 0) {
        k--;
    }
    return ward_sim_add_sat(from, (int64_t)1 << (k - 10));
}

static void cpu_advance(struct ward_sim *sim, int64_t t)
{
    struct ward_sim_cpu *c = &sim->host.cpu;

    if (t < c->done_ms) {
        c->done_ms = 0;
        for (int i = 0; i < WARD_CPU_STATE_COUNT; i++) {
            c->ticks[i] = 0;
            c->frac[i] = 0;
        }
    }
    for (int64_t end = step_end(c->done_ms); end <= t && end > c->done_ms;
         end = step_end(c->done_ms)) {
        cpu_accumulate(sim, c->done_ms, end - c->done_ms, c->ticks, c->frac);
        c->done_ms = end;
    }
}

static int host_cpu(const struct ward_device *dev, struct ward_host_cpu *out)
{
    struct ward_sim *sim = sim_of(dev);
    struct ward_sim_cpu *c = &sim->host.cpu;
    int64_t pct[WARD_CPU_STATE_COUNT];
    uint32_t frac[WARD_CPU_STATE_COUNT];
    struct ward_sim_sample st;

    if (out == NULL) {
        return -EINVAL;
    }
    if (!sim->host.has_cpu) {
        *out = (struct ward_host_cpu){ .status = WARD_STATUS_UNAVAILABLE,
                                       .reason = WARD_REASON_NOT_SUPPORTED };
        return 0;
    }
    cpu_advance(sim, sim->now_ms);
    for (int i = 0; i < WARD_CPU_STATE_COUNT; i++) {
        out->ticks[i] = c->ticks[i];
        frac[i] = c->frac[i];
    }
    /* the part of the current step, without committing it to the cache */
    cpu_accumulate(sim, c->done_ms, sim->now_ms - c->done_ms, out->ticks, frac);
    cpu_pcts(sim, sim->now_ms, pct, &st);
    out->status = st.status;
    out->reason = st.reason;
    out->ncpu = c->ncpu;
    out->ticks_per_second = c->ticks_per_second;
    return 0;
}

/* Fill n values from signals; the first non-ok one gives the status. */
static void read_fields(const struct ward_sim *sim, const ward_sim_sig_t *sig, int n,
                        uint64_t *vals, enum ward_status *status, enum ward_reason *reason)
{
    struct ward_sim_sample s;

    *status = WARD_STATUS_OK;
    *reason = WARD_REASON_NONE;
    for (int i = 0; i < n; i++) {
        ward_sim_eval(sim, sig[i], sim->now_ms, &s);
        vals[i] = (uint64_t)s.value;
        if (s.status != WARD_STATUS_OK && *status == WARD_STATUS_OK) {
            *status = s.status;
            *reason = s.reason;
        }
    }
}

static int host_mem(const struct ward_device *dev, struct ward_host_mem *out)
{
    const struct ward_sim *sim = sim_of(dev);
    uint64_t v[WARD_SIM_MEM_FIELD_COUNT];

    if (out == NULL) {
        return -EINVAL;
    }
    if (!sim->host.has_mem) {
        *out = (struct ward_host_mem){ .status = WARD_STATUS_UNAVAILABLE,
                                       .reason = WARD_REASON_NOT_SUPPORTED };
        return 0;
    }
    read_fields(sim, sim->host.mem, WARD_SIM_MEM_FIELD_COUNT, v, &out->status, &out->reason);
    out->total = v[WARD_SIM_MEM_TOTAL];
    out->available = v[WARD_SIM_MEM_AVAILABLE];
    out->free = v[WARD_SIM_MEM_FREE];
    out->buffers = v[WARD_SIM_MEM_BUFFERS];
    out->cached = v[WARD_SIM_MEM_CACHED];
    out->swap_total = v[WARD_SIM_MEM_SWAP_TOTAL];
    out->swap_free = v[WARD_SIM_MEM_SWAP_FREE];
    return 0;
}

static int blk_count(const struct ward_device *dev)
{
    return sim_of(dev)->host.n_blk;
}

static int blk_info(const struct ward_device *dev, unsigned i, struct ward_host_blk_info *info)
{
    const struct ward_sim *sim = sim_of(dev);

    if (i >= sim->host.n_blk || info == NULL) {
        return -EINVAL;
    }
    *info = sim->host.blk[i].info;
    return 0;
}

static int blk_read(const struct ward_device *dev, unsigned i, struct ward_host_blk *out)
{
    const struct ward_sim *sim = sim_of(dev);
    uint64_t v[WARD_SIM_BLK_FIELD_COUNT];

    if (i >= sim->host.n_blk || out == NULL) {
        return -EINVAL;
    }
    read_fields(sim, sim->host.blk[i].field, WARD_SIM_BLK_FIELD_COUNT, v, &out->status,
                &out->reason);
    out->reads = v[WARD_SIM_BLK_READS];
    out->writes = v[WARD_SIM_BLK_WRITES];
    out->read_bytes = v[WARD_SIM_BLK_READ_BYTES];
    out->written_bytes = v[WARD_SIM_BLK_WRITTEN_BYTES];
    out->io_ms = v[WARD_SIM_BLK_IO_MS];
    out->in_flight = v[WARD_SIM_BLK_IN_FLIGHT];
    return 0;
}

static int fs_count(const struct ward_device *dev)
{
    return sim_of(dev)->host.n_fs;
}

static int fs_info(const struct ward_device *dev, unsigned i, struct ward_host_fs_info *info)
{
    const struct ward_sim *sim = sim_of(dev);

    if (i >= sim->host.n_fs || info == NULL) {
        return -EINVAL;
    }
    *info = sim->host.fs[i].info;
    return 0;
}

static int fs_read(const struct ward_device *dev, unsigned i, struct ward_host_fs *out)
{
    const struct ward_sim *sim = sim_of(dev);
    uint64_t v[WARD_SIM_FS_FIELD_COUNT];

    if (i >= sim->host.n_fs || out == NULL) {
        return -EINVAL;
    }
    read_fields(sim, sim->host.fs[i].field, WARD_SIM_FS_FIELD_COUNT, v, &out->status, &out->reason);
    out->total_bytes = v[WARD_SIM_FS_TOTAL];
    out->free_bytes = v[WARD_SIM_FS_FREE];
    out->avail_bytes = v[WARD_SIM_FS_AVAIL];
    out->files_total = v[WARD_SIM_FS_FILES_TOTAL];
    out->files_free = v[WARD_SIM_FS_FILES_FREE];
    return 0;
}

const struct ward_host_ops ward_sim_host_ops = {
    .cpu = host_cpu,
    .mem = host_mem,
    .blk_count = blk_count,
    .blk_info = blk_info,
    .blk_read = blk_read,
    .fs_count = fs_count,
    .fs_info = fs_info,
    .fs_read = fs_read,
};

/*
 * ward-agent smart-decode (--ata DATA.bin THRESH.bin | --nvme LOG.bin) [--json]
 *
 * Decodes SMART pages captured elsewhere (smartctl -r ataioctl,2, a BMC's bus dump, a
 * fixture) with the same portable decoders the agent runs: attributes, decoded raw values
 * and the verdict. A page of the wrong size or with a bad checksum is refused with one line
 * and exit status 1; nothing is printed from it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ward/hal/smart.h"

#define USAGE "usage: ward-agent smart-decode (--ata DATA.bin THRESH.bin | --nvme LOG.bin) [--json]"

/* Exactly one page from path into buf. @return 0, or 1 after printing why not. */
static int read_page(const char *path, uint8_t *buf, size_t want)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "ward-agent: smart-decode: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    n = fread(buf, 1, want + 1, f); /* one byte more tells an oversized file */
    if (ferror(f)) {
        fprintf(stderr, "ward-agent: smart-decode: cannot read %s: %s\n", path, strerror(errno));
        fclose(f);
        return 1;
    }
    fclose(f);
    if (n != want) {
        fprintf(stderr,
                "ward-agent: smart-decode: %s is %s%zu bytes; a SMART page is exactly %zu\n", path,
                n > want ? "more than " : "", n > want ? want : n, want);
        return 1;
    }
    return 0;
}

static int check_sum(const char *path, const uint8_t *page, const char *what)
{
    uint8_t sum = 0;

    if (ward_smart_ata_checksum_ok(page)) {
        return 0;
    }
    for (size_t i = 0; i < WARD_SMART_PAGE_SIZE; i++) {
        sum = (uint8_t)(sum + page[i]);
    }
    fprintf(stderr,
            "ward-agent: smart-decode: %s: bad checksum (the 512 bytes sum to 0x%02x, not 0 "
            "modulo 256): not a valid %s page\n",
            path, sum, what);
    return 1;
}

static const char *attr_unit(uint8_t id)
{
    switch (id) {
    case 5:
    case 197:
    case 198:
        return "sectors";
    case 9:
        return "hours";
    case 12:
        return "power cycles";
    case 177:
        return "P/E cycles";
    case 187:
    case 199:
        return "errors";
    case 188:
        return "timeouts";
    case 190:
    case 194:
        return "mdeg_c";
    case 231:
        return "percent left";
    case 241:
    case 242:
        return "LBAs";
    default:
        return "";
    }
}

static const char *when_failed(enum ward_smart_verdict v)
{
    switch (v) {
    case WARD_SMART_FAILING:
        return "FAILING_NOW";
    case WARD_SMART_FAILED_PAST:
        return "In_the_past";
    case WARD_SMART_PASSED:
        return "-";
    default:
        return "?";
    }
}

/* Milli-degrees as "-10 C", or "49.850 C" when not whole. */
static void print_mdeg(int64_t m)
{
    int64_t a = m < 0 ? -m : m;

    if (a % 1000 == 0) {
        printf("%s%" PRId64 " C", m < 0 ? "-" : "", a / 1000);
    } else {
        printf("%s%" PRId64 ".%03" PRId64 " C", m < 0 ? "-" : "", a / 1000, a % 1000);
    }
}

static void print_ata_text(const struct ward_ata_smart *s, uint16_t revision,
                           enum ward_smart_verdict verdict)
{
    printf("ATA SMART data, structure revision %u, %u attributes\n", revision, s->n_attrs);
    printf("ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      WHEN_FAILED "
           "RAW_VALUE       DECODED\n");
    for (unsigned i = 0; i < s->n_attrs; i++) {
        const struct ward_ata_attr *a = &s->attr[i];
        char thresh[8] = "---";

        if (a->verdict != WARD_SMART_UNKNOWN) {
            snprintf(thresh, sizeof(thresh), "%03u", a->threshold);
        }
        printf("%3u %-23s 0x%04x   %03u   %03u   %-6s %-9s %-11s %-15" PRIu64, a->id,
               ward_smart_ata_attr_name(a->id), a->flags, a->value, a->worst, thresh,
               (a->flags & 1) ? "Pre-fail" : "Old_age", when_failed(a->verdict), a->raw);
        if (!a->has_decoded) {
            printf(" -\n");
        } else if (a->id == 190 || a->id == 194) {
            printf(" ");
            print_mdeg(a->decoded);
            if (a->has_temp_range) {
                printf(" (min %d, max %d)", a->temp_min_c, a->temp_max_c);
            }
            printf("\n");
        } else {
            printf(" %" PRId64 " %s\n", a->decoded, attr_unit(a->id));
        }
    }
    printf("verdict: %s\n", ward_smart_verdict_name(verdict));
}

static void print_ata_json(const struct ward_ata_smart *s, uint16_t revision,
                           enum ward_smart_verdict verdict)
{
    printf("{\"kind\":\"ata\",\"revision\":%u,\"verdict\":\"%s\",\"attributes\":[", revision,
           ward_smart_verdict_name(verdict));
    for (unsigned i = 0; i < s->n_attrs; i++) {
        const struct ward_ata_attr *a = &s->attr[i];

        printf("%s{\"id\":%u,\"name\":\"%s\",\"flags\":%u,\"prefailure\":%s,\"value\":%u,"
               "\"worst\":%u,",
               i ? "," : "", a->id, ward_smart_ata_attr_name(a->id), a->flags,
               (a->flags & 1) ? "true" : "false", a->value, a->worst);
        if (a->verdict != WARD_SMART_UNKNOWN) {
            printf("\"threshold\":%u,", a->threshold);
        } else {
            printf("\"threshold\":null,");
        }
        printf("\"raw\":%" PRIu64 ",\"verdict\":\"%s\"", a->raw,
               ward_smart_verdict_name(a->verdict));
        if (a->has_decoded) {
            printf(",\"decoded\":%" PRId64 ",\"unit\":\"%s\"", a->decoded, attr_unit(a->id));
        }
        if (a->has_temp_range) {
            printf(",\"min_c\":%d,\"max_c\":%d", a->temp_min_c, a->temp_max_c);
        }
        printf("}");
    }
    printf("]}\n");
}

static int decode_ata(const char *data_path, const char *thresh_path, bool json)
{
    static uint8_t data[WARD_SMART_PAGE_SIZE + 1], thresh[WARD_SMART_PAGE_SIZE + 1];
    static struct ward_ata_smart s;
    struct ward_ata_smart_caps caps;
    enum ward_smart_verdict verdict;
    int rc;

    if (read_page(data_path, data, WARD_SMART_PAGE_SIZE) != 0 ||
        read_page(thresh_path, thresh, WARD_SMART_PAGE_SIZE) != 0 ||
        check_sum(data_path, data, "SMART READ DATA") != 0 ||
        check_sum(thresh_path, thresh, "SMART READ THRESHOLDS") != 0) {
        return 1;
    }
    memset(&s, 0, sizeof(s));
    rc = ward_smart_ata_decode(data, WARD_SMART_PAGE_SIZE, thresh, WARD_SMART_PAGE_SIZE, &s);
    if (rc == 0) {
        rc = ward_smart_ata_caps(data, WARD_SMART_PAGE_SIZE, &caps);
    }
    if (rc != 0) {
        fprintf(stderr, "ward-agent: smart-decode: cannot decode %s: %s\n", data_path,
                strerror(-rc));
        return 1;
    }
    verdict = ward_smart_ata_verdict(&s);
    if (json) {
        print_ata_json(&s, caps.revision, verdict);
    } else {
        print_ata_text(&s, caps.revision, verdict);
    }
    return 0;
}

static const char *const s_cw_names[8] = {
    "spare",           "temperature",    "reliability", "read_only",
    "volatile_backup", "pmr_unreliable", "reserved6",   "reserved7",
};

static void u128(char *buf, size_t len, const uint64_t v[2])
{
    if (ward_smart_u128_dec(buf, len, v) < 0) {
        snprintf(buf, len, "?");
    }
}

/* The 128-bit counters of the log, in the order of the page. */
struct counter {
    const char *name;
    const uint64_t *v;
};

static size_t nvme_counters(const struct ward_nvme_health *h, struct counter c[10])
{
    const struct counter all[10] = {
        { "data_units_read", h->data_units_read },
        { "data_units_written", h->data_units_written },
        { "host_read_commands", h->host_reads },
        { "host_write_commands", h->host_writes },
        { "controller_busy_minutes", h->busy_minutes },
        { "power_cycles", h->power_cycles },
        { "power_on_hours", h->power_on_hours },
        { "unsafe_shutdowns", h->unsafe_shutdowns },
        { "media_errors", h->media_errors },
        { "error_log_entries", h->error_log_entries },
    };

    memcpy(c, all, sizeof(all));
    return 10;
}

static void print_nvme_text(const struct ward_nvme_health *h, enum ward_smart_verdict verdict)
{
    struct counter c[10];
    char num[48];
    size_t n = nvme_counters(h, c);

    printf("NVMe SMART / Health Information (log page 0x02)\n");
    printf("%-28s 0x%02x", "critical_warning", h->critical_warning);
    for (unsigned b = 0; b < 8; b++) {
        if (h->critical_warning & (1u << b)) {
            printf(" %s", s_cw_names[b]);
        }
    }
    printf("\n%-28s ", "composite_temperature");
    if (h->has_composite_temp) {
        print_mdeg(h->composite_temp_mdeg_c);
        printf("\n");
    } else {
        printf("not reported\n");
    }
    printf("%-28s %u%%\n", "available_spare", h->avail_spare_pct);
    printf("%-28s %u%%\n", "available_spare_threshold", h->spare_threshold_pct);
    printf("%-28s %u%%\n", "percentage_used", h->percent_used);
    printf("%-28s 0x%02x\n", "endurance_group_warning", h->endurance_group_warning);
    for (size_t i = 0; i < n; i++) {
        u128(num, sizeof(num), c[i].v);
        printf("%-28s %s", c[i].name, num);
        if (i < 2) {
            uint64_t bytes[2];

            if (ward_smart_u128_mul(bytes, c[i].v, 512000)) {
                u128(num, sizeof(num), bytes);
                printf(" (%s bytes)", num);
            }
        }
        printf("\n");
    }
    printf("%-28s %" PRIu32 "\n", "warning_temp_minutes", h->warning_temp_minutes);
    printf("%-28s %" PRIu32 "\n", "critical_temp_minutes", h->critical_temp_minutes);
    for (unsigned i = 0; i < WARD_NVME_TEMP_SENSORS; i++) {
        const struct ward_reading *r = &h->temp_sensor_mdeg_c[i];

        if (r->status == WARD_STATUS_OK) {
            printf("temperature_sensor_%u         ", i + 1);
            print_mdeg(r->value);
            printf("\n");
        }
    }
    for (unsigned i = 0; i < 2; i++) {
        printf("thermal_mgmt_temp%u           %" PRIu32 " transitions, %" PRIu32 " s\n", i + 1,
               h->tmt_transitions[i], h->tmt_seconds[i]);
    }
    printf("verdict: %s\n", ward_smart_verdict_name(verdict));
}

static void print_nvme_json(const struct ward_nvme_health *h, enum ward_smart_verdict verdict)
{
    struct counter c[10];
    char num[48];
    size_t n = nvme_counters(h, c);
    bool first = true;

    printf("{\"kind\":\"nvme\",\"verdict\":\"%s\",\"critical_warning\":%u,"
           "\"critical_warning_bits\":[",
           ward_smart_verdict_name(verdict), h->critical_warning);
    for (unsigned b = 0; b < 8; b++) {
        if (h->critical_warning & (1u << b)) {
            printf("%s\"%s\"", first ? "" : ",", s_cw_names[b]);
            first = false;
        }
    }
    printf("],\"composite_temp_mdeg_c\":");
    if (h->has_composite_temp) {
        printf("%" PRId64, h->composite_temp_mdeg_c);
    } else {
        printf("null");
    }
    printf(",\"available_spare_pct\":%u,\"available_spare_threshold_pct\":%u,"
           "\"percentage_used\":%u,\"endurance_group_warning\":%u",
           h->avail_spare_pct, h->spare_threshold_pct, h->percent_used, h->endurance_group_warning);
    for (size_t i = 0; i < n; i++) {
        u128(num, sizeof(num), c[i].v);
        printf(",\"%s\":%s", c[i].name, num);
    }
    printf(",\"warning_temp_minutes\":%" PRIu32 ",\"critical_temp_minutes\":%" PRIu32,
           h->warning_temp_minutes, h->critical_temp_minutes);
    printf(",\"temp_sensors_mdeg_c\":[");
    for (unsigned i = 0; i < WARD_NVME_TEMP_SENSORS; i++) {
        const struct ward_reading *r = &h->temp_sensor_mdeg_c[i];

        if (r->status == WARD_STATUS_OK) {
            printf("%s%" PRId64, i ? "," : "", r->value);
        } else {
            printf("%snull", i ? "," : "");
        }
    }
    printf("],\"thermal_mgmt_transitions\":[%" PRIu32 ",%" PRIu32 "],"
           "\"thermal_mgmt_seconds\":[%" PRIu32 ",%" PRIu32 "]}\n",
           h->tmt_transitions[0], h->tmt_transitions[1], h->tmt_seconds[0], h->tmt_seconds[1]);
}

static int decode_nvme(const char *path, bool json)
{
    static uint8_t log[WARD_SMART_PAGE_SIZE + 1];
    static struct ward_nvme_health h;
    int rc;

    if (read_page(path, log, WARD_SMART_PAGE_SIZE) != 0) {
        return 1;
    }
    memset(&h, 0, sizeof(h));
    rc = ward_smart_nvme_decode(log, WARD_SMART_PAGE_SIZE, &h);
    if (rc != 0) {
        fprintf(stderr, "ward-agent: smart-decode: cannot decode %s: %s\n", path, strerror(-rc));
        return 1;
    }
    if (json) {
        print_nvme_json(&h, ward_smart_nvme_verdict(&h));
    } else {
        print_nvme_text(&h, ward_smart_nvme_verdict(&h));
    }
    return 0;
}

void cmd_smart_decode_usage(FILE *f)
{
    fputs("usage: ward-agent smart-decode --ata DATA.bin THRESH.bin [--json]\n"
          "       ward-agent smart-decode --nvme LOG.bin [--json]\n"
          "Decode captured SMART pages and print the attributes and the verdict.\n"
          "\n"
          "options:\n"
          "  --ata DATA THRESH      ATA SMART data and threshold pages, 512 bytes each\n"
          "  --nvme LOG             NVMe SMART / health log page, 512 bytes\n"
          "  --json                 machine-readable output (default: text)\n"
          "  -h, --help             this text\n",
          f);
}

int cmd_smart_decode(int argc, char **argv)
{
    const char *ata_data = NULL, *ata_thresh = NULL, *nvme = NULL;
    bool json = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--ata") == 0 && i + 2 < argc && ata_data == NULL) {
            ata_data = argv[++i];
            ata_thresh = argv[++i];
        } else if (strcmp(argv[i], "--nvme") == 0 && i + 1 < argc && nvme == NULL) {
            nvme = argv[++i];
        } else {
            fprintf(stderr, "ward-agent: smart-decode: unexpected '%s'; %s\n", argv[i], USAGE);
            return 2;
        }
    }
    if ((ata_data == NULL) == (nvme == NULL)) {
        fprintf(stderr, "ward-agent: smart-decode: give --ata or --nvme; %s\n", USAGE);
        return 2;
    }
    return ata_data != NULL ? decode_ata(ata_data, ata_thresh, json) : decode_nvme(nvme, json);
}

/*
 * What the 48-bit raw field of the common ATA attributes means. The raw field is vendor
 * specific; these are the interpretations smartmontools applies by default (its drive
 * database refines them per model), written down in ward_smart_ata_decode()'s comment.
 */
#include "smart_internal.h"

#define LOW16(r) ((r)&0xffffu)
#define LOW32(r) ((r)&0xffffffffu)

/* A 16-bit word that holds a signed byte: 0..0x7f, 0x80..0xff, or sign-extended 0xff80... */
static bool temp_word_ok(unsigned w)
{
    return w <= 0xff || w >= 0xff80;
}

/* Bytes a and b as a min/max pair around t, plausible for a drive (-60..120 C). */
static bool temp_range(int t, uint8_t a, uint8_t b, int *lo, int *hi)
{
    /* The bytes are two's-complement temperatures: the sign is meant */
    // NOLINTNEXTLINE(bugprone-signed-char-misuse,cert-str34-c)
    int x = (int8_t)a, y = (int8_t)b;

    if (x > y) {
        int s = x;

        x = y;
        y = s;
    }
    /* -1/0 is what 0xff 0x00 filler looks like, not a range. */
    if (x < -60 || y > 120 || t < x || t > y || (x == -1 && y <= 0)) {
        return false;
    }
    *lo = x;
    *hi = y;
    return true;
}

/*
 * Temperature attributes keep the current value in the low byte and, depending on the
 * vendor, the lifetime min and max somewhere above it (bytes 5..0 written high to low):
 *   00 00 00 00 xx TT   no range
 *   00 00 HH LL xx TT   range in bytes 2-3 (Maxtor, Samsung, Seagate, Toshiba)
 *   00 00 00 HH LL TT   range in bytes 1-2 (WDC)
 *   xx HH xx LL xx TT   range in bytes 2 and 4, words sign-extended (HGST, Kingston)
 *   CC CC HH LL xx TT   range in bytes 2-3, CCCC an over-temperature count (WDC)
 * (xx: 00, or ff as the sign extension of the byte below). These are the layouts smartctl
 * recognizes. A layout that matches none is not a temperature unless the low byte alone is
 * a plausible positive one (1..127 C), which is what smartd then uses.
 */
static void decode_temp(struct ward_ata_attr *a, const uint8_t r[6])
{
    unsigned w0 = r[0] | (r[1] << 8), w1 = r[2] | (r[3] << 8), w2 = r[4] | (r[5] << 8);
    /* The byte is a two's-complement temperature: the sign is meant */
    // NOLINTNEXTLINE(bugprone-signed-char-misuse,cert-str34-c)
    int t = (int8_t)r[0], lo = 0, hi = 0;
    bool known = false, range = false;

    if (temp_word_ok(w0) && w2 == 0) {
        /* Two layouts (no range, a valid range) that both make the value known */
        // NOLINTNEXTLINE(bugprone-branch-clone)
        if (w1 == 0) {
            known = true;
        } else if ((range = temp_range(t, r[2], r[3], &lo, &hi))) {
            known = true;
        }
    }
    if (!known && w2 == 0 && r[3] == 0 && (range = temp_range(t, r[1], r[2], &lo, &hi))) {
        known = true;
    }
    if (!known && temp_word_ok(w0) && temp_word_ok(w1) && temp_word_ok(w2) && w2 != 0 &&
        (range = temp_range(t, r[2], r[4], &lo, &hi))) {
        known = true;
    }
    if (!known && temp_word_ok(w0) && w2 != 0 && w2 < 0x7fff &&
        (range = temp_range(t, r[2], r[3], &lo, &hi)) && hi >= 40) {
        known = true;
    }
    if (!known) {
        range = false;
        if (r[0] == 0 || r[0] >= 128) {
            return;
        }
    }
    a->decoded = (int64_t)t * 1000;
    a->has_decoded = true;
    a->has_temp_range = range;
    a->temp_min_c = (int8_t)(range ? lo : 0);
    a->temp_max_c = (int8_t)(range ? hi : 0);
}

void smart_ata_decode_raw(struct ward_ata_attr *a, const uint8_t raw[6])
{
    a->has_decoded = true;
    switch (a->id) {
    case 5:   /* Reallocated_Sector_Ct: count in the low word */
    case 188: /* Command_Timeout: total in the low word (Seagate: > 5 s, > 7.5 s above) */
        a->decoded = (int64_t)LOW16(a->raw);
        break;
    case 9: /* Power_On_Hours: hours in the low 32 bits (Seagate: milliseconds above) */
        a->decoded = (int64_t)LOW32(a->raw);
        break;
    case 12:  /* Power_Cycle_Count */
    case 177: /* Wear_Leveling_Count: P/E cycles */
    case 187: /* Reported_Uncorrect */
    case 197: /* Current_Pending_Sector */
    case 198: /* Offline_Uncorrectable */
    case 199: /* UDMA_CRC_Error_Count */
    case 241: /* Total_LBAs_Written */
    case 242: /* Total_LBAs_Read */
        a->decoded = (int64_t)a->raw;
        break;
    case 190: /* Airflow_Temperature_Cel */
    case 194: /* Temperature_Celsius */
        a->has_decoded = false;
        decode_temp(a, raw);
        break;
    case 231: /* SSD_Life_Left: the normalized value is the percentage left */
        a->has_decoded = a->value <= 100;
        a->decoded = a->has_decoded ? a->value : 0;
        break;
    default:
        a->has_decoded = false;
        break;
    }
}

struct attr_name {
    uint8_t id;
    const char *name;
};

/* smartmontools' default names (its drive database renames some per model). */
static const struct attr_name s_names[] = {
    { 1, "Raw_Read_Error_Rate" },
    { 2, "Throughput_Performance" },
    { 3, "Spin_Up_Time" },
    { 4, "Start_Stop_Count" },
    { 5, "Reallocated_Sector_Ct" },
    { 7, "Seek_Error_Rate" },
    { 8, "Seek_Time_Performance" },
    { 9, "Power_On_Hours" },
    { 10, "Spin_Retry_Count" },
    { 11, "Calibration_Retry_Count" },
    { 12, "Power_Cycle_Count" },
    { 170, "Available_Reservd_Space" },
    { 171, "Program_Fail_Count" },
    { 172, "Erase_Fail_Count" },
    { 173, "Wear_Leveling_Count" },
    { 174, "Unexpect_Power_Loss_Ct" },
    { 175, "Program_Fail_Count_Chip" },
    { 176, "Erase_Fail_Count_Chip" },
    { 177, "Wear_Leveling_Count" },
    { 178, "Used_Rsvd_Blk_Cnt_Chip" },
    { 179, "Used_Rsvd_Blk_Cnt_Tot" },
    { 180, "Unused_Rsvd_Blk_Cnt_Tot" },
    { 181, "Program_Fail_Cnt_Total" },
    { 182, "Erase_Fail_Count_Total" },
    { 183, "Runtime_Bad_Block" },
    { 184, "End-to-End_Error" },
    { 187, "Reported_Uncorrect" },
    { 188, "Command_Timeout" },
    { 189, "High_Fly_Writes" },
    { 190, "Airflow_Temperature_Cel" },
    { 191, "G-Sense_Error_Rate" },
    { 192, "Power-Off_Retract_Count" },
    { 193, "Load_Cycle_Count" },
    { 194, "Temperature_Celsius" },
    { 195, "Hardware_ECC_Recovered" },
    { 196, "Reallocated_Event_Count" },
    { 197, "Current_Pending_Sector" },
    { 198, "Offline_Uncorrectable" },
    { 199, "UDMA_CRC_Error_Count" },
    { 200, "Multi_Zone_Error_Rate" },
    { 201, "Soft_Read_Error_Rate" },
    { 202, "Data_Address_Mark_Errs" },
    { 220, "Disk_Shift" },
    { 222, "Loaded_Hours" },
    { 223, "Load_Retry_Count" },
    { 224, "Load_Friction" },
    { 225, "Load_Cycle_Count" },
    { 226, "Load-in_Time" },
    { 231, "SSD_Life_Left" },
    { 232, "Available_Reservd_Space" },
    { 233, "Media_Wearout_Indicator" },
    { 240, "Head_Flying_Hours" },
    { 241, "Total_LBAs_Written" },
    { 242, "Total_LBAs_Read" },
    { 250, "Read_Error_Retry_Rate" },
    { 254, "Free_Fall_Sensor" },
};

const char *ward_smart_ata_attr_name(uint8_t id)
{
    for (size_t i = 0; i < sizeof(s_names) / sizeof(s_names[0]); i++) {
        if (s_names[i].id == id) {
            return s_names[i].name;
        }
    }
    return "Unknown_Attribute";
}

/*
 * Self-tests of the portable core, run on the target itself: `ward-agent selftest` on
 * Linux boards, at boot on bare-metal boards (result returned through semihosting).
 * They check what can differ between targets: hashing, formatting, the JSON arena,
 * integer widths and byte order handling.
 */
#ifndef WARD_SELFTEST_H_
#define WARD_SELFTEST_H_

/** Where self-test output goes: one line at a time, without the newline. */
typedef void (*ward_line_fn)(void *ctx, const char *line);

struct ward_selftest_summary {
    unsigned passed;
    unsigned failed;
};

/**
 * Run every self-test, printing "PASS name" / "FAIL name: reason" and a final
 * "N passed, M failed" line.
 * @return 0 when all passed, -EFAULT when any failed, -EINVAL for a NULL out function,
 *         -ENOTSUP when the image was built without CONFIG_WARD_SELFTEST.
 */
int ward_selftest_run(ward_line_fn out, void *ctx, struct ward_selftest_summary *summary);

#endif /* WARD_SELFTEST_H_ */

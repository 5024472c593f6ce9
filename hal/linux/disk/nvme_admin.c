/*
 * NVMe admin commands through the controller's character device (/dev/nvmeN) with
 * NVME_IOCTL_ADMIN_CMD. The kernel wants CAP_SYS_ADMIN for Get Log Page; recent kernels let
 * anyone who can open the device send Identify.
 */
#include <errno.h>
#include <sys/ioctl.h> /* _IOWR, which linux/nvme_ioctl.h uses */
#include <linux/nvme_ioctl.h>
#include <stdint.h>
#include <string.h>

#include "disk_internal.h"

static int admin(int fd, struct nvme_admin_cmd *c)
{
    int rc = lx_disk_io()->ioctl(fd, NVME_IOCTL_ADMIN_CMD, c);

    if (rc < 0) {
        return errno != 0 ? -errno : -EIO;
    }
    return rc == 0 ? 0 : -EIO; /* rc > 0: the controller's status field */
}

int lx_disk_nvme_identify(int fd, uint8_t buf[WARD_NVME_IDENTIFY_SIZE])
{
    struct nvme_admin_cmd c;

    memset(&c, 0, sizeof(c));
    c.opcode = WARD_NVME_ADMIN_IDENTIFY;
    c.addr = (uint64_t)(uintptr_t)buf;
    c.data_len = WARD_NVME_IDENTIFY_SIZE;
    c.cdw10 = WARD_NVME_CNS_CTRL;
    c.timeout_ms = LX_DISK_TIMEOUT;
    return admin(fd, &c);
}

int lx_disk_nvme_smart_log(int fd, uint8_t buf[WARD_SMART_PAGE_SIZE])
{
    struct nvme_admin_cmd c;

    memset(&c, 0, sizeof(c));
    c.opcode = WARD_NVME_ADMIN_GET_LOG;
    c.nsid = 0xffffffffu; /* the controller as a whole */
    c.addr = (uint64_t)(uintptr_t)buf;
    c.data_len = WARD_SMART_PAGE_SIZE;
    /* CDW10: LID in 7:0, NUMDL (dwords - 1, 0-based) in 31:16; RAE 0 as smartctl sends it */
    c.cdw10 = WARD_NVME_LOG_SMART | ((uint32_t)(WARD_SMART_PAGE_SIZE / 4 - 1) << 16);
    c.cdw11 = 0; /* NUMDU */
    c.timeout_ms = LX_DISK_TIMEOUT;
    return admin(fd, &c);
}

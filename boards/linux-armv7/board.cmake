# linux-armv7: an AST2600-class BMC (Cortex-A7, hard float) running Linux; one static binary.
set(WARD_STATIC_LINK ON)
set(WARD_ELF_MACHINE "ARM")  # readelf -h "Machine:" of the binary
include("${CMAKE_SOURCE_DIR}/boards/common/linux/board-linux.cmake")
# Its end-to-end proof (tests/integration/bmc): this QEMU machine, booted with Debian's armmp
# kernel and this device tree from the kernel package.
set(WARD_QEMU_SYSTEM_MACHINE ast2600-evb)
set(WARD_QEMU_SYSTEM_DTB aspeed-ast2600-evb.dtb)

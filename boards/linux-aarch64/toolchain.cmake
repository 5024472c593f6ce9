# Debian's aarch64-linux-gnu cross GCC; tests run under qemu-user (binfmt_misc is not assumed).
set(WARD_CROSS_TRIPLET aarch64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(WARD_QEMU_USER qemu-aarch64-static)
# The qemu-user CPU model the tests run under (no -mcpu above: GCC's generic ARMv8-A).
set(WARD_QEMU_CPU cortex-a53)
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux/cross-toolchain.cmake")

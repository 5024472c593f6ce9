# Debian's arm-linux-gnueabihf cross GCC, tuned for the AST2600's Cortex-A7.
set(WARD_CROSS_TRIPLET arm-linux-gnueabihf)
set(CMAKE_SYSTEM_PROCESSOR armv7)
set(WARD_QEMU_USER qemu-arm-static)
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-a7 -mfpu=neon-vfpv4 -mfloat-abi=hard")
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux/cross-toolchain.cmake")

# Debian's arm-linux-gnueabihf cross GCC, for the AST2600 as it is: two Cortex-A7 cores,
# ARMv7-A, hard float, VFPv4 with 16 double registers (D16) and no NEON. OpenBMC builds its
# AST2600 machines the same way (DEFAULTTUNE "armv7ahf-vfpv4d16"), and QEMU's ast2600-evb
# models the cores without NEON: code built with -mfpu=neon-vfpv4 dies there with SIGILL as
# soon as GCC vectorises a loop. An armv7 BMC with NEON would be a separate board; never the
# default. These flags reach every C and assembler file of the build, mbedTLS and cJSON
# included (tests/repo/isa-check.sh proves it on the linked binaries).
set(WARD_CROSS_TRIPLET arm-linux-gnueabihf)
set(CMAKE_SYSTEM_PROCESSOR armv7)
set(WARD_QEMU_USER qemu-arm-static)
# The qemu-user CPU model the tests run under: a Cortex-A7 without NEON, like the AST2600.
set(WARD_QEMU_CPU cortex-a7,neon=off)
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-a7 -mfpu=vfpv4-d16 -mfloat-abi=hard")
set(CMAKE_ASM_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux/cross-toolchain.cmake")

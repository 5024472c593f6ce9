# Debian's arm-linux-gnueabi (armel) cross GCC, for the AST2400/AST2500 generation: the
# AST2400's ARM926EJ-S is ARMv5TE without an FPU, the AST2500's ARM1176JZF-S is ARMv6 with
# VFPv2. One binary for both: ARMv5TE instructions, the soft-float ABI, ARM (not Thumb) code,
# tuned for the ARM926. Debian's armel userland (and its static glibc) has the same baseline.
# Atomics: ARMv5 has no ldrex/strex; GCC calls libgcc's __sync helpers, which use the
# kernel's cmpxchg helper page (kuser helpers), as every armel program does.
set(WARD_CROSS_TRIPLET arm-linux-gnueabi)
set(CMAKE_SYSTEM_PROCESSOR armv5te)
set(WARD_QEMU_USER qemu-arm-static)
# The tests run on the ARM1176 (the newer core); agent_selftest_arm926 and
# integration_probe_fixtures_arm926 also run the agent on the ARM926, which has no VFP at all.
set(WARD_QEMU_CPU arm1176)
set(WARD_QEMU_ALSO_CPUS arm926)
set(CMAKE_C_FLAGS_INIT "-march=armv5te -mtune=arm926ej-s -marm -mfloat-abi=soft")
set(CMAKE_ASM_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux/cross-toolchain.cmake")

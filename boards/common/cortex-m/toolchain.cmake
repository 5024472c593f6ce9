# Debian's arm-none-eabi GCC with newlib-nano, for a Cortex-M3 board (mps2-an385, lm3s6965evb).
# (packages gcc-arm-none-eabi, binutils-arm-none-eabi, libnewlib-arm-none-eabi)
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR cortex-m3)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# Nothing can run a test program here; compile checks build a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# nano.specs is needed when compiling too: it selects newlib-nano's headers (newlib.h).
set(_ward_cpu_flags "-mcpu=cortex-m3 -mthumb --specs=nano.specs")
# Link-time optimisation (the flash budget, docs/benchmarks.md "Cortex-M budget"): -flto on
# every C file, mbedTLS, lwIP and cJSON included; GCC's archiver wrappers keep the LTO objects
# in the static libraries readable by the linker plugin. newlib (not LTO) calls into
# syscalls.c after the optimiser ran, so those functions are marked used there.
set(CMAKE_C_FLAGS_INIT "${_ward_cpu_flags} -ffunction-sections -fdata-sections -flto")
set(CMAKE_AR arm-none-eabi-gcc-ar)
set(CMAKE_RANLIB arm-none-eabi-gcc-ranlib)
set(CMAKE_ASM_FLAGS_INIT "${_ward_cpu_flags}")
# CMake links with the C flags too, so the CPU flags and nano.specs (which must appear only
# once) are not repeated here.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections -flto -Os")

# Host programs (qemu, the size tool) are found on the host; libraries and headers only
# in the toolchain's own tree.
set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# The Cortex-M3 of the LM3S6965: Debian's arm-none-eabi GCC with newlib-nano.
include("${CMAKE_CURRENT_LIST_DIR}/../common/cortex-m/toolchain.cmake")

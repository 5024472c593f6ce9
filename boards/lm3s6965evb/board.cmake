# lm3s6965evb: Texas Instruments' (Luminary Micro's) LM3S6965 evaluation board, Cortex-M3
# with the Stellaris Ethernet controller, as QEMU emulates it (qemu-system-arm -M lm3s6965evb).
# Bare metal: newlib-nano, lwIP NO_SYS=1, no heap; everything but its UART, Ethernet driver
# and memory map is shared with mps2-an385 (boards/common/cortex-m).
set(WARD_QEMU_SYSTEM_MACHINE lm3s6965evb)
# Names its budget and end-to-end tests: lm3s6965evb_budget, integration_lm3s6965evb_e2e.
set(WARD_CM_TEST_NAME lm3s6965evb)
include("${CMAKE_SOURCE_DIR}/boards/common/cortex-m/board.cmake")

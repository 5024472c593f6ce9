# mps2-an385: Arm's MPS2 FPGA board with the AN385 Cortex-M3 image, as QEMU emulates it
# (qemu-system-arm -M mps2-an385). Bare metal: newlib-nano, lwIP NO_SYS=1, no heap.
set(WARD_QEMU_SYSTEM_MACHINE mps2-an385)
# Names its budget and end-to-end tests: mps2_budget, integration_mps2_e2e.
set(WARD_CM_TEST_NAME mps2)
include("${CMAKE_SOURCE_DIR}/boards/common/cortex-m/board.cmake")

# mps2-an385: Arm's MPS2 FPGA board with the AN385 Cortex-M3 image, as QEMU emulates it
# (qemu-system-arm -M mps2-an385). Bare metal: newlib-nano, lwIP NO_SYS=1, no heap.
set(WARD_MBEDTLS_CONFIG "${WARD_BOARD_DIR}/mbedtls_config.h")
# Only lwipopts.h and arch/cc.h: this folder becomes a public include path of ward::lwip.
set(WARD_LWIP_PORT_DIR "${WARD_BOARD_DIR}/lwip")

# linux-armv7: an AST2600-class BMC (Cortex-A7, hard float) running Linux; one static binary.
set(WARD_STATIC_LINK ON)
set(WARD_ELF_MACHINE "ARM")  # readelf -h "Machine:" of the binary
include("${CMAKE_SOURCE_DIR}/boards/common/linux/board-linux.cmake")

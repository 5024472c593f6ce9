# linux-aarch64: a 64-bit ARM BMC or appliance running Linux; one static binary.
set(WARD_STATIC_LINK ON)
set(WARD_ELF_MACHINE "AArch64")  # readelf -h "Machine:" of the binary
include("${CMAKE_SOURCE_DIR}/boards/common/linux/board-linux.cmake")

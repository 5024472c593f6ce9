# linux-armv5te: an AST2400/AST2500-class BMC (ARM926EJ-S / ARM1176JZF-S, soft float) running
# Linux; one static binary.
set(WARD_STATIC_LINK ON)
set(WARD_ELF_MACHINE "ARM")  # readelf -h "Machine:" of the binary
include("${CMAKE_SOURCE_DIR}/boards/common/linux/board-linux.cmake")

# linux-x86_64: an ordinary Linux server, built with the host's compiler.
include("${CMAKE_SOURCE_DIR}/boards/common/linux/board-linux.cmake")

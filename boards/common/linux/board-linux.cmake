# Settings shared by every Linux board; a board's board.cmake includes this.
set(WARD_MBEDTLS_CONFIG "${CMAKE_SOURCE_DIR}/boards/common/linux/mbedtls_config.h")
set(WARD_BOARD_APP_DIR "${CMAKE_SOURCE_DIR}/firmware/apps/linux") # the Linux application of firmware/
# Cross boards ship one self-contained binary: no shared libraries on the BMC.
if(NOT DEFINED WARD_STATIC_LINK)
    set(WARD_STATIC_LINK OFF)
endif()

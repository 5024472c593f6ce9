# Shared body of the ARM Linux toolchain files. Expects WARD_CROSS_TRIPLET and WARD_QEMU_USER,
# and WARD_QEMU_CPU: the qemu-user CPU model (-cpu) that matches the board's real CPU, so the
# tests fail on an instruction the board lacks instead of passing on QEMU's default CPU.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${WARD_CROSS_TRIPLET}-gcc)
set(CMAKE_ASM_COMPILER ${WARD_CROSS_TRIPLET}-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/${WARD_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
find_program(_qemu ${WARD_QEMU_USER})
if(NOT _qemu)
    message(FATAL_ERROR "${WARD_QEMU_USER} not found; run tools/bootstrap (package qemu-user-static)")
endif()
if(NOT WARD_QEMU_CPU)
    message(FATAL_ERROR "the toolchain file sets no WARD_QEMU_CPU (qemu-user -cpu model of the board)")
endif()
# One program, not a list: test scripts take the emulator as a single word. <build>/qemu-user
# runs a binary of this board here under the board's CPU model.
file(WRITE "${CMAKE_BINARY_DIR}/qemu-user" "#!/bin/sh\nexec ${_qemu} -cpu ${WARD_QEMU_CPU} \"$@\"\n")
file(CHMOD "${CMAKE_BINARY_DIR}/qemu-user" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
     GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_BINARY_DIR}/qemu-user")
# Test-only libraries (cmocka) come from Debian multiarch packages (libcmocka-dev:<arch>).
set(WARD_MULTIARCH_LIBDIR /usr/lib/${WARD_CROSS_TRIPLET})

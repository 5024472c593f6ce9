# Third-party libraries, compiled from the Debian source packages that tools/bootstrap
# fetched into ${WARD_DEPS_DIR} (git-ignored). Nothing third-party is committed.
#
# Targets:
#   ward::mbedtls  mbedTLS with the board's config (WARD_MBEDTLS_CONFIG, a header path)
#   ward::cjson    cJSON with the nesting limit from Kconfig
#   ward::lwip     lwIP core (NO_SYS=1) with the board's lwipopts.h/arch/cc.h
#                  (WARD_LWIP_PORT_DIR), only when CONFIG_WARD_LWIP

set(WARD_DEPS_DIR "${CMAKE_SOURCE_DIR}/.cache/debsrc" CACHE PATH
    "Where tools/bootstrap unpacked Debian's mbedtls, cjson and lwip sources")

foreach(dep mbedtls cjson lwip)
    if(NOT EXISTS "${WARD_DEPS_DIR}/${dep}")
        message(FATAL_ERROR
            "${dep} source is missing from ${WARD_DEPS_DIR}; run tools/bootstrap first")
    endif()
endforeach()

# Third-party code keeps its own style; build it optimized, quiet, without -Werror.
function(ward_third_party target)
    target_compile_options(${target} PRIVATE -w)
    set_target_properties(${target} PROPERTIES C_CLANG_TIDY "")
endfunction()

# mbedTLS: every library file; the config compiles out what the board does not want.
if(NOT WARD_MBEDTLS_CONFIG)
    message(FATAL_ERROR "board ${BOARD} sets no WARD_MBEDTLS_CONFIG in board.cmake")
endif()
file(GLOB _mbedtls_srcs "${WARD_DEPS_DIR}/mbedtls/library/*.c")
add_library(ward_mbedtls STATIC ${_mbedtls_srcs})
target_include_directories(ward_mbedtls SYSTEM PUBLIC "${WARD_DEPS_DIR}/mbedtls/include")
target_compile_definitions(ward_mbedtls PUBLIC "MBEDTLS_CONFIG_FILE=\"${WARD_MBEDTLS_CONFIG}\"")
ward_third_party(ward_mbedtls)
add_library(ward::mbedtls ALIAS ward_mbedtls)

# cJSON: one file. Deep nesting is refused early; the arena bounds the rest. Its number
# conversions go through ward's heap-free replacements (firmware/base/include/ward/base/cjson_libc.h)
# on every board, because newlib-nano's allocate and assert on an empty heap.
# (They are part of ward_base, firmware/base/CMakeLists.txt.)
add_library(ward_cjson STATIC "${WARD_DEPS_DIR}/cjson/cJSON.c")
target_include_directories(ward_cjson SYSTEM PUBLIC "${WARD_DEPS_DIR}/cjson")
target_compile_definitions(ward_cjson PRIVATE CJSON_NESTING_LIMIT=${CONFIG_WARD_JSON_NESTING_LIMIT}
    strtod=ward_cjson_strtod sprintf=ward_cjson_sprintf sscanf=ward_cjson_sscanf)
target_link_libraries(ward_cjson PUBLIC ward_base)
ward_third_party(ward_cjson)
add_library(ward::cjson ALIAS ward_cjson)

# lwIP: raw API core, IPv4, Ethernet. The port (lwipopts.h, arch/cc.h, sys_now) is the board's.
if(CONFIG_WARD_LWIP)
    if(NOT WARD_LWIP_PORT_DIR)
        message(FATAL_ERROR "board ${BOARD} enables lwIP but sets no WARD_LWIP_PORT_DIR")
    endif()
    set(LWIP_DIR "${WARD_DEPS_DIR}/lwip")
    # Listed here rather than through lwIP's Filelists.cmake, which writes into its source tree.
    file(GLOB _lwip_srcs "${LWIP_DIR}/src/core/*.c" "${LWIP_DIR}/src/core/ipv4/*.c")
    add_library(ward_lwip STATIC ${_lwip_srcs} "${LWIP_DIR}/src/netif/ethernet.c")
    target_include_directories(ward_lwip SYSTEM PUBLIC "${LWIP_DIR}/src/include" "${WARD_LWIP_PORT_DIR}")
    ward_third_party(ward_lwip)
    add_library(ward::lwip ALIAS ward_lwip)
endif()

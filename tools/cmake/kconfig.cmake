# Kconfig for one board, Zephyr-style.
#
# Configure time: tools/kconfig/kconfig.py merges boards/${BOARD}/defconfig (plus any
# -DWARD_CONF_FILES="a.conf;b.conf" fragments) into ${CMAKE_BINARY_DIR}/.config and writes
# include/generated/autoconf.h. The build re-runs it whenever a Kconfig file, the defconfig,
# a fragment or .config itself changes. Targets: menuconfig, savedefconfig.

set(WARD_KCONFIG_PY /usr/bin/python3)
set(WARD_CONF_FILES "" CACHE STRING "Extra Kconfig fragments merged after the board's defconfig")

set(_frag_args)
set(_frag_deps)
foreach(f IN LISTS WARD_CONF_FILES)
    get_filename_component(f "${f}" ABSOLUTE)
    list(APPEND _frag_args --fragment "${f}")
    list(APPEND _frag_deps "${f}")
endforeach()

set(_kconfig_env
    srctree=${CMAKE_SOURCE_DIR}
    BOARD=${BOARD}
    KCONFIG_CONFIG=${CMAKE_BINARY_DIR}/.config)

execute_process(
    COMMAND ${CMAKE_COMMAND} -E env ${_kconfig_env}
            ${WARD_KCONFIG_PY} ${CMAKE_SOURCE_DIR}/tools/kconfig/kconfig.py
            --kconfig ${CMAKE_SOURCE_DIR}/Kconfig
            --defconfig ${WARD_BOARD_DIR}/defconfig ${_frag_args}
            --outdir ${CMAKE_BINARY_DIR}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    RESULT_VARIABLE _kconfig_rc)
if(NOT _kconfig_rc EQUAL 0)
    message(FATAL_ERROR "Kconfig failed for board ${BOARD} (see the kconfig: line above)")
endif()

include(${CMAKE_BINARY_DIR}/config.cmake)
file(STRINGS ${CMAKE_BINARY_DIR}/kconfig-inputs.txt _kconfig_inputs)
set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${_kconfig_inputs} ${WARD_BOARD_DIR}/defconfig ${_frag_deps} ${CMAKE_BINARY_DIR}/.config
    ${CMAKE_SOURCE_DIR}/tools/kconfig/kconfig.py)

set(WARD_GENERATED_INCLUDE ${CMAKE_BINARY_DIR}/include/generated)

add_custom_target(menuconfig
    COMMAND ${CMAKE_COMMAND} -E env ${_kconfig_env} MENUCONFIG_STYLE=aquatic
            ${WARD_KCONFIG_PY} -m menuconfig ${CMAKE_SOURCE_DIR}/Kconfig
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    USES_TERMINAL
    VERBATIM
    COMMENT "Editing ${CMAKE_BINARY_DIR}/.config; the next build picks up the change")

add_custom_target(savedefconfig
    COMMAND ${CMAKE_COMMAND} -E env ${_kconfig_env}
            ${WARD_KCONFIG_PY} -m savedefconfig --kconfig ${CMAKE_SOURCE_DIR}/Kconfig
            --out ${CMAKE_BINARY_DIR}/defconfig
    COMMAND ${CMAKE_COMMAND} -E echo
            "Minimal defconfig written to ${CMAKE_BINARY_DIR}/defconfig (copy it to boards/${BOARD}/defconfig to keep it)"
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    VERBATIM)

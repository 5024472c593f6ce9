# The images of a Cortex-M board, shared by every board in boards/ that includes this file from
# its CMakeLists.txt after setting:
#   CM_BOARD_SOURCES   the board's own sources (its UART, its Ethernet driver: cm_port.h)
#   CM_LINKER_SCRIPT   its memory map
#   CM_NIC_NAME        the "ward: no <NIC> ..." text the budget test looks for in the image
#   CM_E2E_SCENARIO    (optional) the scenario of the e2e image, default failing-fan.json
# and, in board.cmake, WARD_QEMU_SYSTEM_MACHINE (qemu-system-arm -M) and WARD_CM_TEST_NAME
# (<name>_budget, integration_<name>_e2e).
#
# ward-agent.elf: the portable core plus the shared startup code, newlib hooks, lwIP and
# mbedTLS ports and the board's files. It boots in qemu-system-arm, runs the self-tests and
# exits QEMU with the result. ward-sim.elf (below) is a test image that plays a sim scenario
# on the same board.
set(_cm ${CMAKE_SOURCE_DIR}/boards/common/cortex-m)
# The board: startup, console, clock, entropy, data flash, lwIP port (every image).
set(_cm_board_sources
    ${_cm}/board.c
    ${_cm}/clock.c
    ${_cm}/entropy.c
    ${_cm}/eth_netif.c
    ${_cm}/flash.c
    ${_cm}/loopback.c
    ${_cm}/lwip_port.c
    ${_cm}/semihost.c
    ${_cm}/startup.c
    ${_cm}/syscalls.c
    ${CM_BOARD_SOURCES})
add_executable(ward-agent.elf
    ${_cm}/main.c
    ${_cm}/app.c
    ${_cm}/checks.c
    ${_cm}/crypto_check.c
    ${_cm}/provision.c
    ${_cm}/scenario_none.c
    ${_cm_board_sources})
target_link_libraries(ward-agent.elf PRIVATE ward_port_lwip ward_transport ward_hal_lwip ward_core ward::lwip
                                            ward::mbedtls)

# Link an image of this board: the linker script, stack and heap from Kconfig, a map file,
# and a flat NAME.bin beside the ELF (QEMU and flashers take either).
set(_ld "${CM_LINKER_SCRIPT}")
find_program(WARD_SIZE_TOOL arm-none-eabi-size REQUIRED)
function(cm_image target name)
    set(_map "${CMAKE_CURRENT_BINARY_DIR}/${name}.map")
    set(_image_bin "${CMAKE_CURRENT_BINARY_DIR}/${name}.bin")
    ward_target_warnings(${target})
    target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${_cm})
    target_link_options(${target} PRIVATE
        -nostartfiles
        "-T${_ld}"
        "-L${_cm}" # sections.ld, which the board's linker script INCLUDEs
        "-Wl,--defsym=__ward_stack_size=${CONFIG_WARD_STACK_SIZE}"
        "-Wl,--defsym=__ward_heap_size=${CONFIG_WARD_HEAP_AT_START_SIZE}"
        "-Wl,-Map=${_map}"
        -Wl,--print-memory-usage)
    # No "-u _printf_float": cJSON's number conversions are ward's own, heap-free ones
    # (firmware/base/include/ward/base/cjson_libc.h), so newlib-nano's float printf/scanf stay out.
    set_target_properties(${target} PROPERTIES LINK_DEPENDS "${_ld};${_cm}/sections.ld")
    add_custom_command(TARGET ${target} POST_BUILD
        COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:${target}> "${_image_bin}"
        COMMAND ${WARD_SIZE_TOOL} $<TARGET_FILE:${target}>
        BYPRODUCTS "${_image_bin}" "${_map}"
        COMMENT "${target}: writing ${name}.bin")
endfunction()
cm_image(ward-agent.elf ward-agent)
set(_bin "${CMAKE_CURRENT_BINARY_DIR}/ward-agent.bin")

# ward-sim.elf, a test image: the sim backend playing boards/sim/scenarios/failing-fan.json
# and the lwIP NIC device, read through the HAL (sim_main.c). The sim's pools and parse
# arena (defconfig) are far outside the product's RAM budget; the product image has the
# backend off (product.conf) and never links it.
if(CONFIG_WARD_HAL_SIM AND CONFIG_WARD_SEMIHOSTING AND NOT WARD_PRODUCT_IMAGE)
    add_executable(ward-sim.elf ${_cm}/sim_main.c ${_cm_board_sources})
    ward_sim_embed_scenario(ward-sim.elf ${CMAKE_SOURCE_DIR}/boards/sim/scenarios/failing-fan.json)
    target_link_libraries(ward-sim.elf PRIVATE ward_hal_sim ward_hal_lwip ward_transport ward_core
                                              ward::lwip ward::mbedtls)
    cm_image(ward-sim.elf ward-sim)
endif()

# ward-net-sim.elf, the end-to-end test image (tests/integration/mps2): the product image's
# sources with scenario_sim.c instead of scenario_none.c, so the agent reports failing-fan.json
# played in real time. Built by the e2e test in a tree configured with product.conf and
# e2e.conf (no self-tests, no semihosting, the sim backend on).
if(CONFIG_WARD_HAL_SIM AND NOT CONFIG_WARD_SELFTEST)
    get_target_property(_agent_srcs ward-agent.elf SOURCES)
    list(REMOVE_ITEM _agent_srcs ${_cm}/scenario_none.c)
    add_executable(ward-net-sim.elf ${_agent_srcs} ${_cm}/scenario_sim.c)
    # The board may play a smaller scenario with the same FAN3 story (CM_E2E_SCENARIO).
    if(NOT CM_E2E_SCENARIO)
        set(CM_E2E_SCENARIO ${CMAKE_SOURCE_DIR}/boards/sim/scenarios/failing-fan.json)
    endif()
    ward_sim_embed_scenario(ward-net-sim.elf ${CM_E2E_SCENARIO} SYMBOL ward_scenario_failing_fan)
    target_link_libraries(ward-net-sim.elf PRIVATE ward_hal_sim ward_port_lwip ward_transport
                                                  ward_hal_lwip ward_core ward::lwip ward::mbedtls)
    cm_image(ward-net-sim.elf ward-net-sim)
endif()

# The memory budget (tools/size-report: BUDGET), enforced on the product image, which
# budget-test.sh builds beside this tree (BUILD/product) from the same sources.
if(NOT WARD_PRODUCT_IMAGE)
    add_test(NAME ${WARD_CM_TEST_NAME}_budget
        COMMAND ${_cm}/budget-test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR} ${BOARD} "no ${CM_NIC_NAME}")
    set_tests_properties(${WARD_CM_TEST_NAME}_budget PROPERTIES TIMEOUT 900 LABELS budget)
endif()

# On-target tests under QEMU. qemu-test.sh passes only when QEMU's exit status (the image's
# result, through semihosting) is the expected one AND every listed line was printed.
# Without semihosting the image never exits, so there is nothing to run.
if(NOT CONFIG_WARD_SEMIHOSTING OR NOT CONFIG_WARD_SELFTEST)
    return()
endif()
find_program(WARD_QEMU_SYSTEM_ARM qemu-system-arm)
if(NOT WARD_QEMU_SYSTEM_ARM)
    message(WARNING "qemu-system-arm not found: the ${BOARD} tests are not registered "
                    "(run tools/bootstrap)")
    return()
endif()
set(_qemu_test "${_cm}/qemu-test.sh")
string(REPLACE "." "\\." _version_re "${PROJECT_VERSION}")
# The banner must carry the digest the build computed: the image hashed its own config.
string(SUBSTRING "${WARD_CONFIG_SHA256}" 0 16 _digest16)
set(_banner_re "ward ${_version_re} board=${CONFIG_WARD_BOARD_NAME} arch=${CONFIG_WARD_ARCH}")

add_test(NAME target_selftest
    COMMAND ${_qemu_test} $<TARGET_FILE:ward-agent.elf> 0
            "${_banner_re} config=${_digest16}"
            "selftest: [1-9][0-9]* passed, 0 failed"
            "board: [1-9][0-9]* passed, 0 failed")

# Failure must be reported too: the same image, with one byte of its configuration text
# overwritten before boot. The config_digest self-test must catch it, the image must print
# the failure and exit with 1, and the other tests must still pass.
add_test(NAME target_selftest_detects_corruption
    COMMAND ${_qemu_test} --corrupt-config "${_bin}" 1
            "${_banner_re} config=[0-9a-f]{16}"
            "selftest: FAIL config_digest: .+"
            "selftest: [1-9][0-9]* passed, 1 failed"
            "board: [1-9][0-9]* passed, 0 failed")

set_tests_properties(target_selftest target_selftest_detects_corruption PROPERTIES
    ENVIRONMENT "QEMU=${WARD_QEMU_SYSTEM_ARM};QEMU_MACHINE=${WARD_QEMU_SYSTEM_MACHINE}"
    TIMEOUT 150
    LABELS qemu)

# The sim backend and the lwIP NIC device on target (ward-sim.elf, sim_main.c). Expected
# FAN3 readings follow from failing-fan.json and docs/scenarios.md ("decay": the distance to
# "to" halves every half_life, linear in between; noise within +-amplitude):
#   0 s   before the failure at 10 s: 5840 +-40 RPM, PWM 40, no alarm
#   20 s  10 s of decay, between halvings 1 (2920) and 2 (1460): 1947 +-40, PWM stepped to 100
#   30 s  20 s of decay, between halvings 3 (730) and 4 (365): 609 +-40, below its 1200 RPM
#         minimum (lower_caution), so the alarm is raised (it first is near 24 s)
#   45 s, 60 s  the tachometer fault (event at 40 s): status fault, no RPM
# Every other fan and temperature stays OK and below its limits ("nothing else" trips,
# boards/sim/scenarios/README.md). The NIC line: one datagram of 14 bytes each way on lo0,
# 42 bytes with its IP and UDP headers (lwIP's MIB2 octet counters count the IP packet).
if(TARGET ward-sim.elf)
    add_test(NAME target_sim_scenario
        COMMAND ${_qemu_test} $<TARGET_FILE:ward-sim.elf> 0
                "${_banner_re} config=${_digest16}"
                "sim: scenario failing-fan, 90000 ms; .*"
                "sim: t=0 FAN3 rpm=(58[0-7][0-9]|5880) pwm=40 status=ok alarm=0 others_alarmed=0"
                "sim: t=20000 FAN3 rpm=(190[7-9]|19[1-7][0-9]|198[0-7]) pwm=100 status=ok alarm=0 others_alarmed=0"
                "sim: t=30000 FAN3 rpm=(569|5[7-9][0-9]|6[0-3][0-9]|64[0-9]) pwm=100 status=ok alarm=1 others_alarmed=0"
                "sim: t=45000 FAN3 rpm=- pwm=100 status=fault alarm=[01] others_alarmed=0"
                "sim: t=60000 FAN3 rpm=- pwm=100 status=fault alarm=[01] others_alarmed=0"
                "nic lo0: tx_packets \\+1 rx_packets \\+1 tx_bytes \\+42 rx_bytes \\+42 \\(payload 14 bytes\\)"
                "sim: done")
    set_tests_properties(target_sim_scenario PROPERTIES
        ENVIRONMENT "QEMU=${WARD_QEMU_SYSTEM_ARM};QEMU_MACHINE=${WARD_QEMU_SYSTEM_MACHINE}"
        TIMEOUT 150
        LABELS qemu)
endif()

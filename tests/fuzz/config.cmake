# The configuration files of ward-collector and wardctl and the scanner they share with the
# agent (fuzz_config.c), host board only (the tools are built there). The readers are compiled
# into the harness, so the libFuzzer build instruments them; of the collector, only its
# options (options.c) and the history tiers they are checked against (history/hist.c).
if(TARGET wcol_common)
    set(_tools ${CMAKE_SOURCE_DIR}/tools)
    ward_fuzz_target(config SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/input_file.c
        ${CMAKE_SOURCE_DIR}/firmware/base/src/conf.c ${_tools}/collector/common/conffile.c
        ${_tools}/collector/options.c ${_tools}/collector/history/hist.c
        ${_tools}/wardctl/config.c ${_tools}/wardctl/client.c
        LIBS wcol_common ward_wire ward_base ward::tools_mbedtls ward::cjson)
    foreach(_exe fuzz_config_replay fuzz_config_lf)
        if(TARGET ${_exe})
            target_include_directories(${_exe} PRIVATE ${_tools}/collector ${_tools}/wardctl)
            target_compile_definitions(${_exe} PRIVATE _GNU_SOURCE)
        endif()
    endforeach()
endif()

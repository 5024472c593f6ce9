# The collector's operator tokens file (tools/collector/api/tokens.c), host board only (the
# collector is built there).
if(TARGET wcol_common)
    ward_fuzz_target(collector_tokens SOURCES ${CMAKE_SOURCE_DIR}/tools/collector/api/tokens.c
        LIBS wcol_common ward_base ward::tools_mbedtls)
    foreach(_exe fuzz_collector_tokens_replay fuzz_collector_tokens_lf)
        if(TARGET ${_exe})
            target_include_directories(${_exe} PRIVATE ${CMAKE_SOURCE_DIR}/tools/collector)
            target_compile_definitions(${_exe} PRIVATE _GNU_SOURCE)
        endif()
    endforeach()
endif()

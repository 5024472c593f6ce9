# The agent's HTTP response parser (firmware/transport/src/http.c).
if(TARGET ward_transport)
    ward_fuzz_target(http_resp
        SOURCES ${CMAKE_SOURCE_DIR}/firmware/transport/src/http.c
        LIBS ward_base)
    target_include_directories(fuzz_http_resp_replay PRIVATE
        ${CMAKE_SOURCE_DIR}/firmware/transport/include)
    # 32-bit readdir() fails with EOVERFLOW on 64-bit directory cookies under qemu-user.
    target_compile_definitions(fuzz_http_resp_replay PRIVATE _FILE_OFFSET_BITS=64)
    if(TARGET fuzz_http_resp_lf)
        target_include_directories(fuzz_http_resp_lf PRIVATE
            ${CMAKE_SOURCE_DIR}/firmware/transport/include)
    endif()
endif()

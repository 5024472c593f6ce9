# The pull endpoints' request-head parser (firmware/nms/src/http_req.c).
if(TARGET ward_nms)
    ward_fuzz_target(http_req
        SOURCES ${CMAKE_SOURCE_DIR}/firmware/nms/src/http_req.c)
    target_include_directories(fuzz_http_req_replay PRIVATE ${CMAKE_SOURCE_DIR}/firmware/nms/include)
    if(TARGET fuzz_http_req_lf)
        target_include_directories(fuzz_http_req_lf PRIVATE ${CMAKE_SOURCE_DIR}/firmware/nms/include)
    endif()
endif()

# The collector's HTTP/1.1 request-head parser: portable C with no dependency, so it is its own
# library, built on every Linux board for its unit test and fuzz replay (tests/unit/collector_http,
# tests/fuzz/collector_http.cmake) and linked into the collector on the host board.
# wcol_http_headers gives only the include directory ("http/http.h"), for a fuzz harness that
# compiles the parser itself with the fuzzer's instrumentation.
if(NOT TARGET wcol_http)
    add_library(wcol_http_headers INTERFACE)
    target_include_directories(wcol_http_headers INTERFACE ${CMAKE_CURRENT_LIST_DIR}/..)
    add_library(wcol_http STATIC ${CMAKE_CURRENT_LIST_DIR}/http.c ${CMAKE_CURRENT_LIST_DIR}/route.c)
    target_link_libraries(wcol_http PUBLIC wcol_http_headers)
    ward_target_warnings(wcol_http)
endif()

# The collector's HTTP/1.1 request-head parser: portable C with no dependency, so it is its own
# library, built on every Linux board for its unit test and fuzz replay (tests/unit/collector_http,
# tests/fuzz/collector_http.cmake) and linked into the collector on the host board.
if(NOT TARGET wcol_http)
    add_library(wcol_http STATIC ${CMAKE_CURRENT_LIST_DIR}/http.c ${CMAKE_CURRENT_LIST_DIR}/route.c)
    target_include_directories(wcol_http PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
    ward_target_warnings(wcol_http)
endif()

# The dashboard's files (dash/assets/) and Debian's libjs-dygraphs, embedded into the collector
# as a generated C table (dash/embed.py). Nothing is fetched: the chart library is read from
# the Debian package at configure time, and the configure fails clearly without it.
set(WARD_DYGRAPHS_DIR /usr/share/javascript/dygraphs CACHE PATH
    "where Debian's libjs-dygraphs installs dygraph.min.js")
if(NOT EXISTS ${WARD_DYGRAPHS_DIR}/dygraph.min.js OR NOT EXISTS ${WARD_DYGRAPHS_DIR}/dygraph.min.css)
    message(FATAL_ERROR "the collector's dashboard embeds Debian's libjs-dygraphs, not found in "
                        "${WARD_DYGRAPHS_DIR}: run tools/bootstrap (apt-get install libjs-dygraphs)")
endif()
find_program(WARD_DASH_PYTHON3 python3 REQUIRED)

set(_dash_dir ${CMAKE_CURRENT_SOURCE_DIR}/dash/assets)
set(_dash_files login.html dash.css dash.js fleet.js device.js incidents.js incident.js trends.js
    login.js)
set(_dash_args)
set(_dash_deps ${CMAKE_CURRENT_SOURCE_DIR}/dash/embed.py ${_dash_dir}/page.html)
foreach(f IN LISTS _dash_files)
    list(APPEND _dash_args /ui/${f}=${_dash_dir}/${f})
    list(APPEND _dash_deps ${_dash_dir}/${f})
endforeach()
# The pages that share page.html: URL, title, what they load besides dash.css.
foreach(page IN ITEMS "index|fleet|/ui/dash.js /ui/fleet.js"
        "device|device|/ui/lib/dygraph.min.css /ui/lib/dygraph.min.js /ui/dash.js /ui/device.js"
        "incidents|incidents|/ui/dash.js /ui/incidents.js"
        "incident|incident|/ui/dash.js /ui/incident.js"
        "trends|trends|/ui/dash.js /ui/trends.js")
    string(REPLACE "|" ";" _p "${page}")
    list(GET _p 0 _name)
    list(GET _p 1 _title)
    list(GET _p 2 _load)
    list(APPEND _dash_args "/ui/${_name}.html=@${_dash_dir}/page.html|${_title}|${_load}")
endforeach()
foreach(f IN ITEMS dygraph.min.js dygraph.min.css)
    list(APPEND _dash_args /ui/lib/${f}=${WARD_DYGRAPHS_DIR}/${f})
    list(APPEND _dash_deps ${WARD_DYGRAPHS_DIR}/${f})
endforeach()
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/dash_assets.c
    COMMAND ${WARD_DASH_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/dash/embed.py
            ${CMAKE_CURRENT_BINARY_DIR}/dash_assets.c ${_dash_args}
    DEPENDS ${_dash_deps}
    COMMENT "Embedding the dashboard's files" VERBATIM)
add_library(wcol_dash_assets STATIC ${CMAKE_CURRENT_BINARY_DIR}/dash_assets.c)
target_include_directories(wcol_dash_assets PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})

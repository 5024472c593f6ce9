# ward_sim_embed_scenario(<target> <scenario.json> [SYMBOL <name>])
#
# Compiles a scenario file into <target> as a C array, for boards without files:
#   const char <name>[];       the file's bytes, followed by a NUL not counted in the length
#   const size_t <name>_len;   bytes of the file
# declared in the generated header "<name>.h" (on <target>'s include path). The default
# name is ward_scenario_<file name without .json, non-alphanumerics as '_'>. Rebuilt when the
# file changes. Use: ward_sim_init(&sim, &hal, <name>, <name>_len, err, sizeof(err)).
set(WARD_SIM_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_scenario.cmake CACHE INTERNAL
    "script behind ward_sim_embed_scenario()")

function(ward_sim_embed_scenario target file)
    cmake_parse_arguments(EMB "" "SYMBOL" "" ${ARGN})
    get_filename_component(file "${file}" ABSOLUTE)
    if(NOT EXISTS "${file}")
        message(FATAL_ERROR "ward_sim_embed_scenario: ${file} does not exist")
    endif()
    if(NOT EMB_SYMBOL)
        get_filename_component(_stem "${file}" NAME_WE)
        string(MAKE_C_IDENTIFIER "ward_scenario_${_stem}" EMB_SYMBOL)
    endif()
    set(_dir ${CMAKE_CURRENT_BINARY_DIR}/sim-scenarios)
    add_custom_command(
        OUTPUT ${_dir}/${EMB_SYMBOL}.c ${_dir}/${EMB_SYMBOL}.h
        COMMAND ${CMAKE_COMMAND} -DIN=${file} -DDIR=${_dir} -DSYMBOL=${EMB_SYMBOL}
                -P ${WARD_SIM_EMBED_SCRIPT}
        DEPENDS ${file} ${WARD_SIM_EMBED_SCRIPT}
        COMMENT "Embedding scenario ${file} as ${EMB_SYMBOL}"
        VERBATIM)
    target_sources(${target} PRIVATE ${_dir}/${EMB_SYMBOL}.c ${_dir}/${EMB_SYMBOL}.h)
    target_include_directories(${target} PRIVATE ${_dir})
endfunction()

# ward-agent run's configuration file (fuzz_config_agent.c: firmware/apps/linux/run_config.c),
# on the host board beside fuzz_config (the tools' files), where the agent has its transport.
if(TARGET wcol AND TARGET ward_transport AND TARGET ward_port_posix)
    set(_app ${CMAKE_SOURCE_DIR}/firmware/apps/linux)
    ward_fuzz_target(config_agent SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/input_file.c
        ${CMAKE_SOURCE_DIR}/firmware/base/src/conf.c ${_app}/run_config.c ${_app}/run_stderr.c
        ${_app}/opt_table.c
        LIBS ward_core ward_transport ward_port_posix)
    foreach(_exe fuzz_config_agent_replay fuzz_config_agent_lf)
        if(TARGET ${_exe})
            target_include_directories(${_exe} PRIVATE ${_app})
            foreach(_lib ward_hal_linux ward_hal_sim ward_nms)
                if(TARGET ${_lib})
                    target_link_libraries(${_exe} PRIVATE ${_lib})
                endif()
            endforeach()
        endif()
    endforeach()
endif()

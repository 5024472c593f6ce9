# The sim backend's scenario parser (hal/sim); the shipped scenarios are replayed too.
if(TARGET ward_hal_sim)
    ward_fuzz_target(scenario LIBS ward_hal_sim ward_smart)
    add_test(NAME fuzz_replay_scenario_shipped
        COMMAND fuzz_scenario_replay ${CMAKE_SOURCE_DIR}/boards/sim/scenarios)
    set_tests_properties(fuzz_replay_scenario_shipped PROPERTIES
        PASS_REGULAR_EXPRESSION "replayed [1-9][0-9]* inputs")
endif()

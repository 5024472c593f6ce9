# sim: a host build whose sensors are played from a scenario (boards/sim/scenarios/).
include("${CMAKE_SOURCE_DIR}/boards/common/linux/board-linux.cmake")

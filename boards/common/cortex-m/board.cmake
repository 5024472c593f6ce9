# What every Cortex-M board shares: the mbedTLS configuration and lwIP's port folder.
set(WARD_MBEDTLS_CONFIG "${CMAKE_SOURCE_DIR}/boards/common/cortex-m/mbedtls_config.h")
# Only lwipopts.h and arch/cc.h: this folder becomes a public include path of ward::lwip.
set(WARD_LWIP_PORT_DIR "${CMAKE_SOURCE_DIR}/boards/common/cortex-m/lwip")

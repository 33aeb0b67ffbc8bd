# onnx.cmake — the ONNX protobuf code, generated at build time by protoc-c from the
# onnx.proto Debian's libonnx-dev installs (never committed), compiled into the octcl
# library for host/onnx/onnx_read.c. Included from the top-level CMakeLists.txt right
# after add_library(octcl ...). Sets OCTCL_ONNX_PB_C (the generated .c) and
# OCTCL_ONNX_PB_DIR (its folder, holding onnx.pb-c.h) for tests/ and tests/fuzz/, and the
# target octcl_onnx_proto that generates them.
find_program(PROTOC_C protoc-c REQUIRED)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
set(OCTCL_ONNX_PROTO /usr/include/onnx/onnx.proto CACHE FILEPATH
    "onnx.proto (proto2, package onnx) that protoc-c compiles")
if(NOT EXISTS ${OCTCL_ONNX_PROTO})
  message(FATAL_ERROR "${OCTCL_ONNX_PROTO} not found: install libonnx-dev (scripts/install-deps.sh)")
endif()

# protoc-c names its output after the .proto's path relative to -I, so the file is
# copied next to the output to make the names onnx.pb-c.{c,h}.
set(OCTCL_ONNX_PB_DIR ${CMAKE_BINARY_DIR}/generated/onnx-proto)
set(OCTCL_ONNX_PB_C ${OCTCL_ONNX_PB_DIR}/onnx.pb-c.c)
set(OCTCL_ONNX_PB_H ${OCTCL_ONNX_PB_DIR}/onnx.pb-c.h)
add_custom_command(
  OUTPUT ${OCTCL_ONNX_PB_C} ${OCTCL_ONNX_PB_H}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${OCTCL_ONNX_PB_DIR}
  COMMAND ${CMAKE_COMMAND} -E copy ${OCTCL_ONNX_PROTO} ${OCTCL_ONNX_PB_DIR}/onnx.proto
  COMMAND ${PROTOC_C} --c_out=${OCTCL_ONNX_PB_DIR} -I${OCTCL_ONNX_PB_DIR} ${OCTCL_ONNX_PB_DIR}/onnx.proto
  DEPENDS ${OCTCL_ONNX_PROTO}
  COMMENT "protoc-c: onnx.proto -> onnx.pb-c.c"
  VERBATIM)
add_custom_target(octcl_onnx_proto DEPENDS ${OCTCL_ONNX_PB_C} ${OCTCL_ONNX_PB_H})

target_sources(octcl PRIVATE ${OCTCL_ONNX_PB_C})
add_dependencies(octcl octcl_onnx_proto)
target_include_directories(octcl PRIVATE ${OCTCL_ONNX_PB_DIR})
target_link_libraries(octcl PUBLIC PkgConfig::PROTOBUF_C)

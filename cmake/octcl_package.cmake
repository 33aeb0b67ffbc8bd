# octcl_package.cmake — what `cmake --install` puts under the prefix and how users link
# it: the library and octcl.h, the `octcl` program and its man page, the shipped models,
# octcl.pc (pkg-config), octclConfig.cmake + version file (find_package(octcl) gives
# octcl::octcl), and the Debian package (cpack -G DEB). Included at the end of the top
# CMakeLists.txt, after every target_link_libraries(octcl ...), because the pkg-config
# file and the package config are written from the list of what octcl links.
include(CMakePackageConfigHelpers)

set(OCTCL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/octcl)

# ---- the library, its header, the program, the models ----------------------------------
install(TARGETS octcl EXPORT octclTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/octcl.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS octcl_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
file(GLOB OCTCL_SHIPPED_MODELS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/models/*.safetensors)
install(FILES ${OCTCL_SHIPPED_MODELS} ${PROJECT_SOURCE_DIR}/models/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/octcl/models)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian's place for the licence (the .deb is made from these same install rules).
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)

# ---- the man page, written from `octcl --help` and every command's --help ------------------
if(NOT CMAKE_CROSSCOMPILING)
  set(OCTCL_MAN ${PROJECT_BINARY_DIR}/octcl.1)
  add_custom_command(
    OUTPUT ${OCTCL_MAN}
    COMMAND ${CMAKE_COMMAND} -DOCTCL=$<TARGET_FILE:octcl_cli> -DOUT=${OCTCL_MAN}
            -DVERSION=${PROJECT_VERSION} -P ${PROJECT_SOURCE_DIR}/cmake/manpage.cmake
    DEPENDS octcl_cli ${PROJECT_SOURCE_DIR}/cmake/manpage.cmake
    COMMENT "Writing the man page octcl.1 from octcl --help"
    VERBATIM)
  add_custom_target(octcl_man ALL DEPENDS ${OCTCL_MAN})
  install(FILES ${OCTCL_MAN} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# ---- what a static link needs, from what octcl links ----------------------------------------
# Each item octcl links becomes a pkg-config module (Requires.private) or a linker flag
# (Libs.private), and a line of octclConfig.cmake that finds it again for a static
# liboctcl.a. An item linked PUBLIC (in octcl's interface) goes to Requires / Libs instead
# and is found for the shared library too, since consumers then link it themselves.
# Another file may add modules or flags by appending to OCTCL_PC_REQUIRES_PRIVATE /
# OCTCL_PC_LIBS_PRIVATE before this point.
set(OCTCL_PC_REQUIRES "")
set(OCTCL_PC_LIBS "")
set(OCTCL_CONFIG_DEPENDENCIES "")          # for a static library
set(OCTCL_CONFIG_PUBLIC_DEPENDENCIES "")   # always
get_target_property(OCTCL_LINKED octcl LINK_LIBRARIES)
get_target_property(OCTCL_INTERFACE octcl INTERFACE_LINK_LIBRARIES)
foreach(dep IN LISTS OCTCL_LINKED)
  set(module "")
  set(flag "")
  set(find "")
  if(dep MATCHES "^PkgConfig::(.+)$")
    set(prefix ${CMAKE_MATCH_1})
    set(module ${${prefix}_MODULE_NAME})
    if(NOT module)
      message(FATAL_ERROR "octcl links ${dep}, but no pkg_check_modules(${prefix} ...) found its module")
    endif()
    set(find "if(NOT TARGET ${dep})\n  pkg_check_modules(${prefix} REQUIRED QUIET IMPORTED_TARGET ${module})\nendif()")
  elseif(dep STREQUAL "OpenCL::OpenCL")
    set(module OpenCL)
    set(find "find_dependency(OpenCL)")
  elseif(dep STREQUAL "clblast")
    set(module clblast)
    set(find "find_dependency(CLBlast CONFIG)")
  elseif(dep STREQUAL "ZLIB::ZLIB")
    set(module zlib)
    set(find "find_dependency(ZLIB)")
  elseif(dep STREQUAL "PNG::PNG")
    set(module libpng)
    set(find "find_dependency(PNG)")
  elseif(dep STREQUAL "JPEG::JPEG")
    set(module libjpeg)
    set(find "find_dependency(JPEG)")
  elseif(dep MATCHES "^protobuf-c::")
    set(module libprotobuf-c)
    set(find "find_dependency(protobuf-c CONFIG)")
  elseif(dep STREQUAL "Threads::Threads")
    set(flag -pthread)
    set(find "find_dependency(Threads)")
  elseif(dep STREQUAL "OpenMP::OpenMP_C")
    set(flag -fopenmp)
    set(find "find_dependency(OpenMP)")
  elseif(dep MATCHES "^-l")
    set(flag ${dep})
  elseif(dep MATCHES "^[A-Za-z0-9_+.-]+$" AND NOT TARGET ${dep})
    set(flag -l${dep})
  elseif(IS_ABSOLUTE "${dep}" AND dep MATCHES "/lib([^/]+)\\.(so[.0-9]*|a)$")
    set(flag -l${CMAKE_MATCH_1})
  elseif(TARGET ${dep})
    get_target_property(imported ${dep} IMPORTED)
    if(NOT imported)
      message(FATAL_ERROR "octcl links the project target ${dep}: put its sources into octcl instead "
                          "(a static liboctcl.a would lack them)")
    endif()
    message(FATAL_ERROR "octcl links ${dep}: tell cmake/octcl_package.cmake its pkg-config module and "
                        "how find_package finds it")
  else()
    message(FATAL_ERROR "octcl links '${dep}': tell cmake/octcl_package.cmake how a static link finds it")
  endif()
  if(dep IN_LIST OCTCL_INTERFACE)
    list(APPEND OCTCL_PC_REQUIRES ${module})
    list(APPEND OCTCL_PC_LIBS ${flag})
    if(find)
      string(APPEND OCTCL_CONFIG_PUBLIC_DEPENDENCIES "${find}\n")
    endif()
  else()
    list(APPEND OCTCL_PC_REQUIRES_PRIVATE ${module})
    list(APPEND OCTCL_PC_LIBS_PRIVATE ${flag})
    if(find)
      string(APPEND OCTCL_CONFIG_DEPENDENCIES "  ${find}\n")
    endif()
  endif()
endforeach()
foreach(v OCTCL_PC_REQUIRES OCTCL_PC_LIBS OCTCL_PC_REQUIRES_PRIVATE OCTCL_PC_LIBS_PRIVATE)
  list(REMOVE_DUPLICATES ${v})
endforeach()
if(OCTCL_PC_REQUIRES)
  list(REMOVE_ITEM OCTCL_PC_REQUIRES_PRIVATE ${OCTCL_PC_REQUIRES})
endif()
list(JOIN OCTCL_PC_REQUIRES ", " OCTCL_PC_REQUIRES_LINE)
list(JOIN OCTCL_PC_LIBS " " OCTCL_PC_LIBS_LINE)
if(OCTCL_PC_LIBS_LINE)
  string(PREPEND OCTCL_PC_LIBS_LINE " ")
endif()
list(JOIN OCTCL_PC_REQUIRES_PRIVATE ", " OCTCL_PC_REQUIRES_PRIVATE_LINE)
list(JOIN OCTCL_PC_LIBS_PRIVATE " " OCTCL_PC_LIBS_PRIVATE_LINE)
if(OCTCL_CONFIG_PUBLIC_DEPENDENCIES)
  string(PREPEND OCTCL_CONFIG_PUBLIC_DEPENDENCIES
         "# What octcl links in its interface, needed by every consumer.\n"
         "include(CMakeFindDependencyMacro)\nfind_dependency(PkgConfig)\n")
endif()

# ---- octcl.pc: relocatable (the prefix is found from the file's own folder, so that
# `cmake --install build --prefix P` gives a working file for any P) --------------------------
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(OCTCL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH OCTCL_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
  string(REGEX REPLACE "/$" "" OCTCL_PC_TO_PREFIX "${OCTCL_PC_TO_PREFIX}")
  set(OCTCL_PC_PREFIX "\${pcfiledir}/${OCTCL_PC_TO_PREFIX}")
endif()
if(OCTCL_OPENCL)
  set(OCTCL_PC_OPENCL yes)
else()
  set(OCTCL_PC_OPENCL no)
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/octcl.pc.in ${PROJECT_BINARY_DIR}/octcl.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/octcl.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- the CMake package: find_package(octcl 0.2 REQUIRED) -> octcl::octcl -----------------------
# The soname's major version (0) is the compatibility promise, as for the shared library.
install(EXPORT octclTargets NAMESPACE octcl:: DESTINATION ${OCTCL_CMAKE_DIR})
if(BUILD_SHARED_LIBS)
  set(OCTCL_STATIC_LIBRARY OFF)
else()
  set(OCTCL_STATIC_LIBRARY ON)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/octclConfig.cmake.in
  ${PROJECT_BINARY_DIR}/octclConfig.cmake INSTALL_DESTINATION ${OCTCL_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_DATADIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/octclConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/octclConfig.cmake ${PROJECT_BINARY_DIR}/octclConfigVersion.cmake
        DESTINATION ${OCTCL_CMAKE_DIR})

# ---- the Debian package: cpack -G DEB in the build folder ------------------------------------
# One package, octcl_0.2.0_<arch>.deb, installed under /usr: library, header, program, man
# page, models, pkg-config and CMake files. Runtime dependencies come from dpkg-shlibdeps;
# the -dev packages that pkg-config and find_package need for octcl's own dependencies
# (Requires.private) are recommended.
if(OCTCL_TOP_LEVEL)
  set(CPACK_PACKAGE_NAME octcl)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
  set(CPACK_PACKAGE_VENDOR "the octcl authors")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
  set(CPACK_PACKAGE_DESCRIPTION
      "octcl runs Octave Convolution networks on any OpenCL device, with a fast native CPU\n"
      "path and a reference path. The package holds the library (liboctcl.so.0), its header,\n"
      "pkg-config and CMake files, the octcl program and the shipped Fashion-MNIST models.")
  string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
  set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_GENERATOR DEB)
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "the octcl authors")
  set(CPACK_DEBIAN_PACKAGE_SECTION science)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
  # The Debian package that holds each pkg-config module octcl.pc requires (dpkg -S on
  # the module's .pc file), so the list follows whatever octcl links.
  set(OCTCL_DEB_RECOMMENDS "")
  find_program(OCTCL_DPKG_QUERY dpkg-query)
  foreach(module IN LISTS OCTCL_PC_REQUIRES OCTCL_PC_REQUIRES_PRIVATE)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=pcfiledir ${module}
                    OUTPUT_VARIABLE pcdir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    set(owner "")
    if(rc EQUAL 0 AND OCTCL_DPKG_QUERY)
      file(REAL_PATH ${pcdir}/${module}.pc pcfile)   # through /etc/alternatives
      execute_process(COMMAND ${OCTCL_DPKG_QUERY} -S ${pcfile}
                      OUTPUT_VARIABLE owner ERROR_QUIET RESULT_VARIABLE rc)
      if(rc EQUAL 0 AND owner MATCHES "^([a-z0-9][a-z0-9+.-]*)[:,]")
        list(APPEND OCTCL_DEB_RECOMMENDS ${CMAKE_MATCH_1})
        set(owner ${CMAKE_MATCH_1})
      else()
        set(owner "")
      endif()
    endif()
    if(NOT owner)
      message(STATUS "octcl .deb: no Debian package found for the pkg-config module ${module}; not recommended")
    endif()
  endforeach()
  if(OCTCL_OPENCL)
    list(APPEND OCTCL_DEB_RECOMMENDS "pocl-opencl-icd | opencl-icd")
  endif()
  list(REMOVE_DUPLICATES OCTCL_DEB_RECOMMENDS)
  list(JOIN OCTCL_DEB_RECOMMENDS ", " CPACK_DEBIAN_PACKAGE_RECOMMENDS)
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "dataset-fashion-mnist")
  include(CPack)
endif()

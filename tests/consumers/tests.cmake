# tests.cmake — ctest checks of octcl as its users get it (included by tests/CMakeLists.txt):
#   install                cmake --install into a prefix inside the build tree; every file there
#   consumer_pkgconfig     a program built with `cc $(pkg-config --cflags --libs octcl)`, run
#   consumer_find_package  a CMake project using find_package(octcl 0.2) -> octcl::octcl, run
#   consumer_subdirectory  a parent project that builds octcl with add_subdirectory, run
#   installed_classify     the installed `octcl classify`, moved to another folder, finds its
#                          default model relative to itself
#   build_tree_classify    so does build/octcl (through build/share/octcl/models)
#   cpu_only_build         configure + build + test a -DOCTCL_OPENCL=OFF tree with OpenCL and
#                          CLBlast hidden from CMake and the compiler, and MPI from CMake
# The steps live in run.cmake.
set(OCT_INSTALL_PREFIX ${CMAKE_CURRENT_BINARY_DIR}/installed)
set(OCT_RUN ${CMAKE_COMMAND} -DBUILD=${PROJECT_BINARY_DIR} -DPREFIX=${OCT_INSTALL_PREFIX}
    -DSRC=${PROJECT_SOURCE_DIR} -DCC=${CMAKE_C_COMPILER} -DCONFIG=$<CONFIG>
    -DSHARED=$<STREQUAL:$<TARGET_PROPERTY:octcl,TYPE>,SHARED_LIBRARY> -DGENERATOR=${CMAKE_GENERATOR})
if(OCTCL_SANITIZE)
  # A program that loads the instrumented liboctcl must itself link the sanitizer runtimes.
  list(APPEND OCT_RUN "-DEXTRA_CFLAGS=-fsanitize=address,undefined")
endif()
set(OCT_RUN_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/run.cmake)

add_test(NAME install COMMAND ${OCT_RUN} -DSTEP=install -P ${OCT_RUN_SCRIPT})
set_tests_properties(install PROPERTIES FIXTURES_SETUP octcl_installed)
foreach(step pkgconfig find_package)
  add_test(NAME consumer_${step} COMMAND ${OCT_RUN} -DSTEP=${step}
           -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer-${step} -P ${OCT_RUN_SCRIPT})
  set_tests_properties(consumer_${step} PROPERTIES FIXTURES_REQUIRED octcl_installed
                       PASS_REGULAR_EXPRESSION "all 90 outputs")
endforeach()
add_test(NAME consumer_subdirectory COMMAND ${OCT_RUN} -DSTEP=subdirectory
         -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer-subdirectory -P ${OCT_RUN_SCRIPT})
set_tests_properties(consumer_subdirectory PROPERTIES PASS_REGULAR_EXPRESSION "all 90 outputs" TIMEOUT 1200)
add_test(NAME installed_classify COMMAND ${OCT_RUN} -DSTEP=classify
         -DWORK=${CMAKE_CURRENT_BINARY_DIR}/installed-moved -P ${OCT_RUN_SCRIPT})
set_tests_properties(installed_classify PROPERTIES FIXTURES_REQUIRED octcl_installed
                     SKIP_REGULAR_EXPRESSION "skipped: no Fashion-MNIST" TIMEOUT 300)
add_test(NAME build_tree_classify COMMAND ${OCT_RUN} -DSTEP=build_tree_classify -P ${OCT_RUN_SCRIPT})
set_tests_properties(build_tree_classify PROPERTIES SKIP_REGULAR_EXPRESSION "skipped: no Fashion-MNIST" TIMEOUT 300)
if(OCTCL_OPENCL)
  add_test(NAME cpu_only_build COMMAND ${OCT_RUN} -DSTEP=cpu_only
           -DWORK=${CMAKE_CURRENT_BINARY_DIR}/cpu-only -P ${OCT_RUN_SCRIPT})
  set_tests_properties(cpu_only_build PROPERTIES TIMEOUT 1200)
endif()

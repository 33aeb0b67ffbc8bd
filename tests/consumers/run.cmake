# run.cmake — the steps of tests.cmake, run as `cmake -DSTEP=... -P run.cmake` by ctest.
# Every step stops with FATAL_ERROR (exit status 1) and the reason at the first failure.
#   BUILD    the build tree under test      PREFIX  where `install` puts octcl
#   SRC      the source tree                WORK    the step's own scratch folder
#   CC       the C compiler                 SHARED  1: liboctcl is a shared library
#   CONFIG, GENERATOR  as the build tree was configured
#   EXTRA_CFLAGS       compiler and linker flags for the consumers (the sanitizers)

# Run a command; stop unless it exits 0. Its output goes to OUT (stdout + stderr).
function(oct_run)
  cmake_parse_arguments(R "" "OUT;DIR" "COMMAND;ENV" ${ARGN})
  if(R_ENV)
    set(R_COMMAND ${CMAKE_COMMAND} -E env ${R_ENV} ${R_COMMAND})
  endif()
  string(REPLACE ";" " " shown "${R_COMMAND}")
  message(STATUS "$ ${shown}")
  if(NOT R_DIR)
    set(R_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  execute_process(COMMAND ${R_COMMAND} WORKING_DIRECTORY ${R_DIR}
                  OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${shown}\n${out}")
  endif()
  if(R_OUT)
    set(${R_OUT} "${out}" PARENT_SCOPE)
  endif()
endfunction()

function(oct_expect text what)
  string(FIND "${text}" "${what}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected '${what}' in:\n${text}")
  endif()
endfunction()

function(oct_expect_not text what)
  string(FIND "${text}" "${what}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "did not expect '${what}' in:\n${text}")
  endif()
endfunction()

# The libraries a program or library needs (readelf -d: NEEDED, RUNPATH).
function(oct_dynamic file out)
  oct_run(COMMAND readelf -d ${file} OUT d)
  set(${out} "${d}" PARENT_SCOPE)
endfunction()

set(config_args)
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()

# ---- install: cmake --install into PREFIX, then check what is there ------------------------
if(STEP STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  oct_run(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${PREFIX} ${config_args})
  file(GLOB_RECURSE installed RELATIVE ${PREFIX} LIST_DIRECTORIES false ${PREFIX}/*)
  list(JOIN installed "\n  " shown)
  message(STATUS "installed under ${PREFIX}:\n  ${shown}")
  set(want include/octcl.h bin/octcl share/man/man1/octcl.1
      share/octcl/models/octnet_fmnist_a0.50.safetensors share/doc/octcl/LICENSE)
  if(SHARED)
    list(APPEND want "lib[^/]*/liboctcl\\.so" "lib[^/]*/liboctcl\\.so\\.0" "lib[^/]*/liboctcl\\.so\\.0\\.2\\.0")
  else()
    list(APPEND want "lib[^/]*/liboctcl\\.a")
  endif()
  list(APPEND want "lib[^/]*/pkgconfig/octcl\\.pc" "lib[^/]*/cmake/octcl/octclConfig\\.cmake"
       "lib[^/]*/cmake/octcl/octclConfigVersion\\.cmake" "lib[^/]*/cmake/octcl/octclTargets\\.cmake")
  foreach(w IN LISTS want)
    set(found OFF)
    foreach(f IN LISTS installed)
      if(f MATCHES "^${w}$")
        set(found ON)
      endif()
    endforeach()
    if(NOT found)
      message(FATAL_ERROR "nothing matching ${w} under ${PREFIX}")
    endif()
  endforeach()
  # Nothing installed may name the build or the source tree (the .pc file and the CMake
  # package find their prefix from their own location).
  foreach(f IN LISTS installed)
    if(f MATCHES "\\.(pc|cmake|h|1)$")
      file(READ ${PREFIX}/${f} text)
      oct_expect_not("${text}" "${BUILD}")
      oct_expect_not("${text}" "${SRC}")
    endif()
  endforeach()
  # Nor may the program or the library hold such a path in their constant data (a Release
  # build: assert() and the sanitizers put source file names there on purpose).
  if(CONFIG STREQUAL "Release")
    file(GLOB binaries ${PREFIX}/bin/octcl ${PREFIX}/lib*/liboctcl.so.0)
    foreach(f IN LISTS binaries)
      oct_run(COMMAND readelf -p .rodata ${f} OUT rodata)
      oct_expect_not("${rodata}" "${BUILD}")
      oct_expect_not("${rodata}" "${SRC}/")
    endforeach()
  endif()
  if(SHARED)
    file(GLOB lib ${PREFIX}/lib*/liboctcl.so.0)
    oct_dynamic(${lib} d)
    oct_expect("${d}" "Library soname: [liboctcl.so.0]")
    # Only the public API is exported: every defined dynamic symbol is oct_ but not oct__.
    oct_run(COMMAND nm -D --defined-only ${lib} OUT syms)
    string(REGEX MATCHALL "[^\n]+" lines "${syms}")
    set(public 0)
    foreach(l IN LISTS lines)
      if(l MATCHES " [A-Za-z] oct__" OR NOT l MATCHES " [A-Za-z] oct_")
        message(FATAL_ERROR "${lib} exports a private or foreign symbol: ${l}")
      endif()
      math(EXPR public "${public} + 1")
    endforeach()
    if(public LESS 40)
      message(FATAL_ERROR "${lib} exports only ${public} symbols")
    endif()
    message(STATUS "${lib}: soname liboctcl.so.0, ${public} public oct_ symbols, no oct__")
  endif()
  file(READ ${PREFIX}/share/man/man1/octcl.1 man)
  foreach(cmd info run classify bench)
    oct_expect("${man}" ".SS \"octcl ${cmd}\"")
  endforeach()

# ---- a program built with pkg-config ---------------------------------------------------------
elseif(STEP STREQUAL "pkgconfig")
  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK})
  file(GLOB pcdir ${PREFIX}/lib*/pkgconfig)
  set(env PKG_CONFIG_PATH=${pcdir})
  set(static)
  if(NOT SHARED)
    set(static --static)
  endif()
  oct_run(COMMAND pkg-config --modversion octcl ENV ${env} OUT version)
  oct_expect("${version}" "0.2.0")
  oct_run(COMMAND pkg-config --cflags octcl ENV ${env} OUT cflags)
  oct_run(COMMAND pkg-config ${static} --libs octcl ENV ${env} OUT libs)
  oct_run(COMMAND pkg-config --variable=libdir octcl ENV ${env} OUT libdir)
  string(STRIP "${cflags}" cflags)
  string(STRIP "${libs}" libs)
  string(STRIP "${libdir}" libdir)
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  separate_arguments(extra UNIX_COMMAND "${EXTRA_CFLAGS}")
  oct_run(COMMAND ${CC} -std=c11 -Wall -Wextra -Werror ${extra} ${cflags} -o ${WORK}/consumer
          ${CMAKE_CURRENT_LIST_DIR}/consumer.c ${libs} -Wl,-rpath,${libdir})
  if(SHARED)
    oct_dynamic(${WORK}/consumer d)
    oct_expect("${d}" "Shared library: [liboctcl.so.0]")
  endif()
  oct_run(COMMAND ${WORK}/consumer OUT out)
  message(STATUS "${out}")

# ---- a CMake project with find_package(octcl 0.2 REQUIRED) ------------------------------------
elseif(STEP STREQUAL "find_package")
  file(REMOVE_RECURSE ${WORK})
  oct_run(COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/find_package -B ${WORK} -G ${GENERATOR}
          -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_C_COMPILER=${CC} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
          "-DCMAKE_C_FLAGS=${EXTRA_CFLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_CFLAGS}" OUT out)
  message(STATUS "${out}")
  oct_expect("${out}" "octcl 0.2.0 from ${PREFIX}/")
  oct_run(COMMAND ${CMAKE_COMMAND} --build ${WORK} OUT out)
  oct_run(COMMAND ${WORK}/consumer OUT out)
  message(STATUS "${out}")

# ---- a parent project with add_subdirectory(octcl) ------------------------------------------------
elseif(STEP STREQUAL "subdirectory")
  file(REMOVE_RECURSE ${WORK})
  oct_run(COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/subdirectory -B ${WORK} -G ${GENERATOR}
          -DOCTCL_SOURCE=${SRC} -DCMAKE_C_COMPILER=${CC} -DCMAKE_BUILD_TYPE=Release OUT out)
  oct_run(COMMAND ${CMAKE_COMMAND} --build ${WORK} -j2 --target consumer OUT out)
  oct_run(COMMAND ${WORK}/consumer OUT out)
  message(STATUS "${out}")

# ---- the installed program, moved elsewhere, finds its default model ----------------------------
# (STEP classify), and so does the program in the build tree (STEP build_tree_classify,
# through the link build/share/octcl/models -> models/).
elseif(STEP STREQUAL "classify" OR STEP STREQUAL "build_tree_classify")
  set(data /usr/share/datasets/fashion-mnist)
  if(NOT EXISTS ${data})
    message("skipped: no Fashion-MNIST test set in ${data}")
    return()
  endif()
  if(STEP STREQUAL "classify")
    file(REMOVE_RECURSE ${WORK})
    file(COPY ${PREFIX}/ DESTINATION ${WORK})
    set(program ${WORK}/bin/octcl)
    set(model ${WORK}/bin/../share/octcl/models/octnet_fmnist_a0.50.safetensors)
    if(SHARED)   # the copy loads its own library ($ORIGIN run path), not the original's
      oct_run(COMMAND ldd ${program} OUT libs)
      oct_expect("${libs}" "liboctcl.so.0 => ${WORK}/bin/../lib")
    endif()
  else()
    set(program ${BUILD}/octcl)
    set(model ${BUILD}/share/octcl/models/octnet_fmnist_a0.50.safetensors)
  endif()
  oct_run(COMMAND ${program} classify --device cpu --limit 32 --batch 32 --data ${data}
          ENV --unset=OCTCL_MODELS --unset=OCTCL_DEVICE DIR /tmp OUT out)
  message(STATUS "${out}")
  oct_expect("${out}" "model: ${model}")
  oct_expect("${out}" "accuracy: ")

# ---- a CPU-only build: -DOCTCL_OPENCL=OFF with OpenCL and CLBlast out of reach -------------------
# CMake may not find either package, and CL/cl.h and clblast_c.h are defined away (their
# include guards set), so any OpenCL use left in the CPU-only sources fails to compile.
elseif(STEP STREQUAL "cpu_only")
  set(hide "-D__OPENCL_CL_H -DCLBLAST_CLBLAST_C_H_")
  oct_run(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${WORK} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
          -DCMAKE_C_COMPILER=${CC} -DOCTCL_OPENCL=OFF -DOCTCL_WERROR=ON "-DCMAKE_C_FLAGS=${hide}"
          -DCMAKE_DISABLE_FIND_PACKAGE_OpenCL=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLBlast=ON
          -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON)
  oct_run(COMMAND ${CMAKE_COMMAND} --build ${WORK} -j2 --target octcl_cli test_octconv test_io test_faults
          test_contract)
  oct_dynamic(${WORK}/octcl d)
  file(GLOB lib ${WORK}/liboctcl.so.0)
  if(lib)
    oct_dynamic(${lib} dl)
    string(APPEND d "${dl}")
  endif()
  string(TOLOWER "${d}" d)
  oct_expect_not("${d}" "opencl")
  oct_expect_not("${d}" "clblast")
  # MPI hidden too: the program never names it, and a job of several ranks launched with
  # it is refused (each rank would do the whole input) instead of running K times.
  oct_expect_not("${d}" "libmpi")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env OMPI_COMM_WORLD_SIZE=2 ${WORK}/octcl run --device cpu
                  OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
  if(rc EQUAL 0)
    message(FATAL_ERROR "a build without MPI ran as one of 2 mpirun ranks:\n${out}")
  endif()
  oct_expect("${out}" "built without MPI")
  oct_run(COMMAND ${WORK}/octcl run --device cpu OUT out)
  oct_run(COMMAND ${WORK}/octcl info OUT out)
  message(STATUS "${out}")
  oct_expect("${out}" "OpenCL is not built into this octcl")
  oct_run(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${WORK} --output-on-failure
          -R "^(octconv|io|faults|cli|contract)$" OUT out)
  message(STATUS "${out}")
  oct_expect("${out}" "100% tests passed, 0 tests failed out of 5")
else()
  message(FATAL_ERROR "run.cmake: unknown STEP '${STEP}'")
endif()

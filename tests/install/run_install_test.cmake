# Run by CTest (see tests/CMakeLists.txt) as `cmake -P`: installs the current
# build into a fresh prefix, builds tests/install against it with
# find_package(chainrule) and runs the result.
#
# Inputs (-D): BUILD_DIR, SOURCE_DIR, WORK_DIR, CONFIG, GENERATOR, CXX_COMPILER, CXX_FLAGS.

foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "install test: ${step} failed (${result}): ${ARGN}")
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --config ${CONFIG})
if(NOT EXISTS ${prefix}/include/chainrule/chainrule.h)
  message(FATAL_ERROR "install test: headers were not installed under ${prefix}/include")
endif()

run("configure consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${consumer_build}
    -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=${CONFIG}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON)
run("build consumer" ${CMAKE_COMMAND} --build ${consumer_build} --config ${CONFIG})

find_program(consumer NAMES consumer PATHS ${consumer_build} ${consumer_build}/${CONFIG} NO_DEFAULT_PATH)
if(NOT consumer)
  message(FATAL_ERROR "install test: consumer executable not found in ${consumer_build}")
endif()
run("run consumer" ${consumer})

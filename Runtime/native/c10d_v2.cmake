# Included by CMakeLists.txt for a libtorch >= 2 (or with ARCHDSL_TRY_C10D_V2): distributed.cpp's libtorch 2.x c10d
# binding (src/c10d_bound.h) was written from pytorch/pytorch's headers without a libtorch 2.x to compile it, so it is
# test-compiled first — the real source file, with the shim's include directories, definitions and flags — and built
# only if that compiles. Otherwise the shim still builds, unbound (ARCHDSL_C10D_V2_FAILED: every distributed entry
# point fails naming the log), and the compiler's output stays in ${ARCHDSL_C10D_V2_LOG} for whoever fixes it.
# The result is cached per content of the sources and flags; editing distributed.cpp re-runs the configure step.

set(ARCHDSL_C10D_V2_LOG "${CMAKE_BINARY_DIR}/c10d-v2-try.log")
set(_c10d_defs ARCHDSL_C10D_V2=1)
set(_c10d_incs "${CMAKE_CURRENT_SOURCE_DIR}/src")
if(ARCHDSL_TRY_C10D_V2)
  list(APPEND _c10d_defs ARCHDSL_TRY_C10D_V2=1)
endif()
# Gloo's headers: only those that came with this libtorch (a PyTorch install's torch/include/gloo, Debian's
# /usr/include/gloo for its libtorch), never another gloo's, whose classes could differ from the ones libtorch was built with.
find_path(ARCHDSL_GLOO_INCLUDE gloo/algorithm.h PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
set(_c10d_backends "")
if(ARCHDSL_GLOO_INCLUDE)
  list(APPEND _c10d_defs USE_C10D_GLOO=1 ARCHDSL_WITH_GLOO=1)
  list(APPEND _c10d_backends gloo)
endif()
if(ARCHDSL_NCCL_FOUND)  # CMakeLists.txt: a CUDA libtorch with ProcessGroupNCCL.hpp, and nccl.h
  list(APPEND _c10d_defs USE_C10D_NCCL=1 ARCHDSL_WITH_NCCL=1)
  list(APPEND _c10d_incs ${ARCHDSL_NCCL_INCLUDE})
  list(APPEND _c10d_backends nccl)
endif()
set(_c10d_compile_defs "")
foreach(d IN LISTS _c10d_defs)
  list(APPEND _c10d_compile_defs "-D${d}")
endforeach()
separate_arguments(_c10d_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
list(APPEND _c10d_flags -idirafter "${CMAKE_CURRENT_SOURCE_DIR}/compat")
set(_c10d_libs ${TORCH_LIBRARIES})  # their usage requirements: libtorch's include directories (and CUDA's)
if(TARGET CUDA::cudart AND ARCHDSL_C10_CUDA)
  list(APPEND _c10d_libs CUDA::cudart)
  get_target_property(_cudart_incs CUDA::cudart INTERFACE_INCLUDE_DIRECTORIES)  # ProcessGroupNCCL.hpp: CUDA's headers
  if(_cudart_incs)
    list(APPEND _c10d_incs ${_cudart_incs})
  endif()
endif()

set(_c10d_key "${Torch_VERSION};${CMAKE_CXX_COMPILER};${CMAKE_CXX_STANDARD};${_c10d_defs};${_c10d_incs};${_c10d_flags};${_c10d_libs}")
foreach(f src/distributed.cpp src/c10d_bound.h src/shim.h)
  file(SHA256 "${CMAKE_CURRENT_SOURCE_DIR}/${f}" _h)
  string(APPEND _c10d_key ";${_h}")
endforeach()
string(SHA256 _c10d_key "${_c10d_key}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS src/distributed.cpp src/c10d_bound.h)
if(NOT "${ARCHDSL_C10D_V2_KEY}" STREQUAL "${_c10d_key}" OR NOT EXISTS "${ARCHDSL_C10D_V2_LOG}")
  message(STATUS "archdsl_torch: test-compiling the libtorch 2.x c10d binding (src/distributed.cpp) against libtorch ${Torch_VERSION}")
  set(_saved_type "${CMAKE_TRY_COMPILE_TARGET_TYPE}")
  set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # compile only: the shim's other objects are not there to link
  try_compile(_c10d_ok "${CMAKE_BINARY_DIR}/c10d-v2-try"
    SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/src/distributed.cpp"
    CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${_c10d_incs};${TORCH_INCLUDE_DIRS}"
    COMPILE_DEFINITIONS ${_c10d_compile_defs} ${_c10d_flags}
    LINK_LIBRARIES ${_c10d_libs}
    CXX_STANDARD ${CMAKE_CXX_STANDARD}
    CXX_STANDARD_REQUIRED ON
    OUTPUT_VARIABLE _c10d_out)
  set(CMAKE_TRY_COMPILE_TARGET_TYPE "${_saved_type}")
  file(WRITE "${ARCHDSL_C10D_V2_LOG}" "# try_compile of src/distributed.cpp (${_c10d_defs}) against libtorch ${Torch_VERSION}: ")
  if(_c10d_ok)
    file(APPEND "${ARCHDSL_C10D_V2_LOG}" "compiled\n${_c10d_out}")
  else()
    file(APPEND "${ARCHDSL_C10D_V2_LOG}" "FAILED\n${_c10d_out}")
  endif()
  set(ARCHDSL_C10D_V2_OK "${_c10d_ok}" CACHE INTERNAL "the libtorch 2.x c10d binding compiled (c10d_v2.cmake)")
  set(ARCHDSL_C10D_V2_KEY "${_c10d_key}" CACHE INTERNAL "what ARCHDSL_C10D_V2_OK was found for")
endif()

if(ARCHDSL_C10D_V2_OK)
  target_compile_definitions(archdsl_torch PRIVATE ${_c10d_defs})
  target_include_directories(archdsl_torch PRIVATE ${_c10d_incs})
  string(REPLACE ";" ", " _b "${_c10d_backends}")
  message(STATUS "archdsl_torch: c10d bound (libtorch 2.x binding), backends: ${_b}")
else()
  set_property(SOURCE src/distributed.cpp src/distributed_unbound.cpp APPEND PROPERTY COMPILE_DEFINITIONS
    ARCHDSL_C10D_V2_FAILED=1 "ARCHDSL_C10D_V2_LOG=\"${ARCHDSL_C10D_V2_LOG}\"")
  if(ARCHDSL_TRY_C10D_V2)
    set_property(SOURCE src/distributed.cpp src/distributed_unbound.cpp APPEND PROPERTY COMPILE_DEFINITIONS ARCHDSL_TRY_C10D_V2=1)
  endif()
  message(STATUS "archdsl_torch: c10d not bound: the libtorch 2.x binding (src/distributed.cpp) did not compile against "
                 "libtorch ${Torch_VERSION}; the compiler's output: ${ARCHDSL_C10D_V2_LOG}")
endif()

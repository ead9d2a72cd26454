# OpenCV's CMake package ships only in libopencv-dev, which pulls in every OpenCV module and its
# dependencies (VTK, Qt, ...). A build that needs only core, imgproc and imgcodecs (the container
# image) installs those three -dev packages and gets imported targets of the same names here.
function(sparrow_find_opencv)
  find_package(OpenCV QUIET COMPONENTS ${ARGN})
  if(OpenCV_FOUND)
    set(OpenCV_INCLUDE_DIRS ${OpenCV_INCLUDE_DIRS} PARENT_SCOPE)
    return()
  endif()
  find_path(SPARROW_OPENCV_INCLUDE opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  foreach(module IN LISTS ARGN)
    find_library(SPARROW_OPENCV_${module} opencv_${module} REQUIRED)
    add_library(opencv_${module} SHARED IMPORTED GLOBAL)
    set_target_properties(opencv_${module} PROPERTIES IMPORTED_LOCATION ${SPARROW_OPENCV_${module}}
                                                      INTERFACE_INCLUDE_DIRECTORIES ${SPARROW_OPENCV_INCLUDE})
  endforeach()
  set(OpenCV_INCLUDE_DIRS ${SPARROW_OPENCV_INCLUDE} PARENT_SCOPE)
endfunction()

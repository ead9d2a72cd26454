# Warnings for Sparrow's own targets (not for generated code or third-party headers).
function(sparrow_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-unknown-pragmas)
  if(SPARROW_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

// libFuzzer target: arbitrary bytes as an ONNX model through import, passes and compilation.
// Any outcome but a sparrow::Error or a compiled engine (a crash, a sanitizer report, another
// exception, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sparrow/engine.h"
#include "sparrow/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sparrow::CompileOptions options;
  options.num_cores = 1;
  options.max_memory_bytes = size_t{256} << 20;  // corrupt shapes must fail cleanly, not exhaust RAM
  try {
    const sparrow::Engine engine =
        sparrow::Engine::load_from_bytes(std::string(reinterpret_cast<const char*>(data), size), options);
    (void)engine.describe();
  } catch (const sparrow::Error&) {
  }
  return 0;
}

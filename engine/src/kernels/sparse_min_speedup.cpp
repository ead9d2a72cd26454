// The sparse rows' common threshold (kernels/selection.h): the INT8 and FP32 JIT rows compare
// their cost models' predicted speed-up with it.
#include <cstdlib>
#include <string>

#include "kernels/selection.h"
#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

constexpr double kMinSpeedup = 1.1;

}  // namespace

// Read at each compilation, so that a test can lift it for one engine. A bad value declines the
// rows with its reason (the compiler turns a select function's error into a decline).
double sparse_min_speedup(const SelectContext& ctx) {
  if (ctx.last_resort) return 0;
  const char* v = std::getenv("SPARROW_SPARSE_MIN_SPEEDUP");
  if (!v || !*v) return kMinSpeedup;
  char* end = nullptr;
  const double parsed = std::strtod(v, &end);
  if (*end != '\0' || !(parsed >= 0)) {
    throw Error(ErrorCode::kInvalidArgument, std::string("SPARROW_SPARSE_MIN_SPEEDUP=") + v + ": not a number >= 0");
  }
  return parsed;
}

}  // namespace sparrow::kernels

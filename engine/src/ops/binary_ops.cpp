// Broadcasting binary ops (Add Sub Mul Div Pow Equal) and the ternary Where.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/broadcast.h"
#include "ops/op_families.h"

namespace sparrow::ops {
namespace {

enum class Arith { kAdd, kSub, kMul, kDiv };

template <typename T>
T apply_arith(Arith op, T a, T b) {
  switch (op) {
    case Arith::kAdd: return static_cast<T>(a + b);
    case Arith::kSub: return static_cast<T>(a - b);
    case Arith::kMul: return static_cast<T>(a * b);
    case Arith::kDiv:
      if constexpr (std::is_integral_v<T>) {
        // Integer division by zero is undefined in C++; ONNX leaves it unspecified. Return 0
        // rather than trap, so a bad model cannot kill the process.
        if (b == 0) return 0;
        if constexpr (std::is_signed_v<T>) {
          if (a == std::numeric_limits<T>::min() && b == -1) return a;
        }
      }
      return static_cast<T>(a / b);
  }
  return a;
}

Arith arith_of(const std::string& op) {
  if (op == "Add") return Arith::kAdd;
  if (op == "Sub") return Arith::kSub;
  if (op == "Mul") return Arith::kMul;
  return Arith::kDiv;
}

std::vector<TypeShape> infer_arith(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_dtype(0, {DType::kFloat32, DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64});
  if (ctx.dtype(1) != ctx.dtype(0)) ctx.invalid("inputs have different dtypes");
  return {{ctx.dtype(0), broadcast_shapes({ctx.shape(0), ctx.shape(1)})}};
}

void eval_arith(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const Arith op = arith_of(node.op);
  dispatch_dtype(out[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      const T* a = in[0].as<T>();
      const T* b = in[1].as<T>();
      T* y = out[0].as<T>();
      for_each_broadcast<2>(out[0].shape, {in[0].shape, in[1].shape},
                            [&](int64_t i, const int64_t* o) { y[i] = apply_arith(op, a[o[0]], b[o[1]]); });
    }
  });
}

std::vector<TypeShape> infer_pow(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_dtype(0, {DType::kFloat32, DType::kInt32, DType::kInt64});
  ctx.expect_dtype(1, {DType::kFloat32, DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64});
  return {{ctx.dtype(0), broadcast_shapes({ctx.shape(0), ctx.shape(1)})}};
}

template <typename T>
double as_double(const TensorView& v, int64_t i) {
  return static_cast<double>(v.as<T>()[i]);
}

double element_as_double(const TensorView& v, int64_t i) {
  return dispatch_dtype(v.dtype, [&](auto tag) { return as_double<decltype(tag)>(v, i); });
}

void eval_pow(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  dispatch_dtype(out[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    T* y = out[0].as<T>();
    for_each_broadcast<2>(out[0].shape, {in[0].shape, in[1].shape}, [&](int64_t i, const int64_t* o) {
      double r = std::pow(element_as_double(in[0], o[0]), element_as_double(in[1], o[1]));
      if constexpr (std::is_integral_v<T>) {
        // Saturate instead of the undefined out-of-range float->int conversion.
        if (!(r >= static_cast<double>(std::numeric_limits<T>::lowest()))) r = std::numeric_limits<T>::lowest();
        if (r > static_cast<double>(std::numeric_limits<T>::max())) r = static_cast<double>(std::numeric_limits<T>::max());
      }
      y[i] = static_cast<T>(r);
    });
  });
}

std::vector<TypeShape> infer_equal(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  if (ctx.dtype(1) != ctx.dtype(0)) ctx.invalid("inputs have different dtypes");
  return {{DType::kBool, broadcast_shapes({ctx.shape(0), ctx.shape(1)})}};
}

void eval_equal(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  bool* y = out[0].as<bool>();
  dispatch_dtype(in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* a = in[0].as<T>();
    const T* b = in[1].as<T>();
    for_each_broadcast<2>(out[0].shape, {in[0].shape, in[1].shape},
                          [&](int64_t i, const int64_t* o) { y[i] = a[o[0]] == b[o[1]]; });
  });
}

std::vector<TypeShape> infer_where(const InferContext& ctx) {
  ctx.expect_inputs(3, 3);
  ctx.expect_dtype(0, {DType::kBool});
  if (ctx.dtype(1) != ctx.dtype(2)) ctx.invalid("X and Y have different dtypes");
  return {{ctx.dtype(1), broadcast_shapes({ctx.shape(0), ctx.shape(1), ctx.shape(2)})}};
}

void eval_where(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const bool* c = in[0].as<bool>();
  dispatch_dtype(out[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[1].as<T>();
    const T* z = in[2].as<T>();
    T* y = out[0].as<T>();
    for_each_broadcast<3>(out[0].shape, {in[0].shape, in[1].shape, in[2].shape},
                          [&](int64_t i, const int64_t* o) { y[i] = c[o[0]] ? x[o[1]] : z[o[2]]; });
  });
}

}  // namespace

void register_binary_ops(std::vector<OpDef>& ops) {
  for (const char* name : {"Add", "Sub", "Mul", "Div"}) ops.push_back({name, infer_arith, eval_arith});
  ops.push_back({"Pow", infer_pow, eval_pow});
  ops.push_back({"Equal", infer_equal, eval_equal});
  ops.push_back({"Where", infer_where, eval_where});
}

}  // namespace sparrow::ops

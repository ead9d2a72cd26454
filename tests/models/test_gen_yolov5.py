#!/usr/bin/python3
"""Test benchmarks/models/gen_yolov5.py against the official YOLOv5n export.

Run:  /usr/bin/python3 tests/models/test_gen_yolov5.py [--shared DIR]

--shared defaults to $SPARROW_SHARED_DIR, else the `shared` folder beside the repository
(../shared from its root), where the rest of Sparrow looks too.

Checks
  1. yolov5n generated through the CLI equals ../shared/models/yolov5n.onnx in
     structure: op-type sequence, wiring (which node output feeds which input),
     every node's attributes (Constant values included: Resize scales and roi,
     Reshape shapes, Pow exponent, strides, grid and anchor_grid), the inferred
     shape of every value in graph order, initializer shapes, graph input and
     output, opset, metadata props, and node / value / initializer names.
     Only the weight values differ.
  2. Options (on n): the same seed gives the same bytes, another seed other
     weights; the weights do not depend on --image-size / --batch; opset 13,
     and batch 2 with a 384x640 input and 3 classes, pass the checker and
     infer the right output shape; --image-size 600 is rejected.
  3. s, m, l, x pass onnx.checker, infer to output 1x25200x85, and have parameter
     counts within 2 % of ultralytics' published ones (n 1.87M, s 7.2M,
     m 21.2M, l 46.5M, x 86.7M).
  4. Numerics: onnx 1.12 has no reference evaluator, so this file carries a small
     numpy evaluator for the ops the export uses (independent of the numpy
     code the generator uses for its weight calibration). The output and
     every intermediate value must be finite with no denormals for a random
     0..1 input: yolov5n at 640x640, s/m/l/x at 128x128 to keep it fast (the
     activation statistics hardly depend on the spatial size), plus a smooth
     synthetic image (n and x) and a flat yellow one (n; flat colours give
     random convs their largest activations). Activations must also stay
     moderate: every SiLU output's rms > 0.02, every |activation| < 100,
     every Sigmoid input < 50. Skip with --no-numeric.

Exit status 0 on success, 1 on any failure (each difference is printed).
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper
from numpy.lib.stride_tricks import sliding_window_view

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GEN = os.path.join(REPO, "benchmarks", "models", "gen_yolov5.py")
SHARED = os.environ.get("SPARROW_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")

# ultralytics' published parameter counts (README table, millions)
EXPECTED_PARAMS = {"n": 1.87e6, "s": 7.2e6, "m": 21.2e6, "l": 46.5e6, "x": 86.7e6}

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL: {msg}")


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_yolov5", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --------------------------------------------------------------------------- structure


def shape_of(vi):
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                 for d in t.shape.dim)


def infer(model, label):
    """Strict onnx shape inference; None (and a failure) if it fails."""
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as e:  # onnx raises InferenceError, or others on bad graphs
        fail(f"{label}: shape inference failed: {str(e).strip()[:600]}")
        return None


def value_shapes(model, label):
    """name -> static shape after onnx shape inference ({} if it fails)."""
    inferred = infer(model, label)
    if inferred is None:
        return {}
    g = inferred.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = shape_of(vi)
    for t in g.initializer:
        shapes[t.name] = tuple(t.dims)
    return shapes


def attr_value(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, onnx.TensorProto):
        arr = numpy_helper.to_array(v)
        return ("tensor", str(arr.dtype), arr.shape, arr.tobytes())
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return tuple(x.decode() if isinstance(x, bytes) else x for x in v)
    return v


def describe_attr(v):
    if isinstance(v, tuple) and v and v[0] == "tensor":
        arr = np.frombuffer(v[3], dtype=v[1]).reshape(v[2])
        return f"tensor {v[1]}{list(v[2])} {arr.reshape(-1)[:6].tolist()}..."
    return repr(v)


def canonical_inputs(model):
    """Per node: its inputs as (kind, index) independent of value names."""
    g = model.graph
    producer = {}
    for ni, n in enumerate(g.node):
        for oi, o in enumerate(n.output):
            producer[o] = ("node", ni, oi)
    graph_inputs = {vi.name: ("input", i) for i, vi in enumerate(g.input)}
    init_names = {t.name for t in g.initializer}
    init_index = {}
    result = []
    for n in g.node:
        ins = []
        for i in n.input:
            if i == "":
                ins.append(("empty",))
            elif i in producer:
                ins.append(producer[i])
            elif i in graph_inputs:
                ins.append(graph_inputs[i])
            elif i in init_names:
                init_index.setdefault(i, len(init_index))
                ins.append(("initializer", init_index[i]))
            else:
                ins.append(("unknown", i))
        result.append(tuple(ins))
    return result, list(init_index)


def compare_lists(what, got, want, labels, limit=8):
    """Compare two lists element-wise; print the first differences."""
    ok = check(len(got) == len(want), f"{what}: {len(got)} entries, reference has {len(want)}")
    bad = [i for i in range(min(len(got), len(want))) if got[i] != want[i]]
    for i in bad[:limit]:
        fail(f"{what}[{i}] ({labels[i] if i < len(labels) else '?'}): "
             f"generated {got[i]!r}, reference {want[i]!r}")
    if len(bad) > limit:
        fail(f"{what}: {len(bad) - limit} more differences")
    return ok and not bad


def compare_with_reference(gen, ref):
    gg, rg = gen.graph, ref.graph
    labels = [n.name for n in rg.node]

    compare_lists("op types", [n.op_type for n in gg.node], [n.op_type for n in rg.node], labels)

    gin, ginits = canonical_inputs(gen)
    rin, rinits = canonical_inputs(ref)
    compare_lists("node inputs (wiring)", gin, rin, labels)
    compare_lists("node output counts", [len(n.output) for n in gg.node],
                  [len(n.output) for n in rg.node], labels)

    # attributes, Constant tensors included
    n_attr_bad = 0
    for i, (a, b) in enumerate(zip(gg.node, rg.node)):
        ga = {x.name: attr_value(x) for x in a.attribute}
        ra = {x.name: attr_value(x) for x in b.attribute}
        if ga != ra:
            n_attr_bad += 1
            if n_attr_bad <= 8:
                keys = sorted(set(ga) | set(ra))
                diffs = [f"{k}: generated {describe_attr(ga.get(k))}, reference {describe_attr(ra.get(k))}"
                         for k in keys if ga.get(k) != ra.get(k)]
                fail(f"attributes of node {i} ({b.name}, {b.op_type}): " + "; ".join(diffs))
    check(n_attr_bad <= 8, f"attributes: {n_attr_bad - 8} more nodes differ")

    # inferred shape of every value, in graph order
    gs, rs = value_shapes(gen, "generated yolov5n"), value_shapes(ref, "reference yolov5n")
    got = [gs.get(o) for n in gg.node for o in n.output]
    want = [rs.get(o) for n in rg.node for o in n.output]
    out_labels = [o for n in rg.node for o in n.output]
    compare_lists("inferred value shapes", got, want, out_labels)
    dynamic = [o for o, s in zip(out_labels, got)
               if s is None or not all(isinstance(d, int) and d >= 0 for d in s)]
    check(not dynamic, f"values without a static inferred shape: {dynamic[:5]}")

    # weights: same shapes in first-use order
    gdims = {t.name: tuple(t.dims) for t in gg.initializer}
    rdims = {t.name: tuple(t.dims) for t in rg.initializer}
    compare_lists("initializer shapes (first-use order)",
                  [gdims[n] for n in ginits], [rdims[n] for n in rinits], rinits)
    compare_lists("initializer names (stored order)",
                  [t.name for t in gg.initializer], [t.name for t in rg.initializer],
                  [t.name for t in rg.initializer])

    compare_lists("graph inputs", [(vi.name, shape_of(vi)) for vi in gg.input],
                  [(vi.name, shape_of(vi)) for vi in rg.input], ["input"] * len(rg.input))
    compare_lists("graph outputs", [(vi.name, shape_of(vi)) for vi in gg.output],
                  [(vi.name, shape_of(vi)) for vi in rg.output], ["output"] * len(rg.output))
    compare_lists("opset imports", [(o.domain, o.version) for o in gen.opset_import],
                  [(o.domain, o.version) for o in ref.opset_import], ["opset"])
    check(gen.ir_version == ref.ir_version,
          f"ir_version {gen.ir_version}, reference {ref.ir_version}")
    compare_lists("metadata props", sorted((p.key, p.value) for p in gen.metadata_props),
                  sorted((p.key, p.value) for p in ref.metadata_props), ["metadata"] * 2)

    # names follow the exporter's style exactly
    compare_lists("node names", [n.name for n in gg.node], labels, labels)
    compare_lists("value names", [o for n in gg.node for o in n.output], out_labels, out_labels)


# --------------------------------------------------------------------------- numpy evaluator


def _attrs(node):
    return {a.name: attr_value(a) for a in node.attribute}


def _conv(x, w, b, at):
    kh, kw = at.get("kernel_shape", w.shape[2:])
    sh, sw = at.get("strides", (1, 1))
    pads = at.get("pads", (0, 0, 0, 0))
    assert at.get("group", 1) == 1 and tuple(at.get("dilations", (1, 1))) == (1, 1)
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    o = w.shape[0]
    if kh == kw == 1 and sh == sw == 1:
        y = np.matmul(w.reshape(o, c), x.reshape(n, c, h * wd)).reshape(n, o, h, wd)
    else:
        win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        y = np.tensordot(w, win, axes=([1, 2, 3], [1, 4, 5])).transpose(1, 0, 2, 3)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(y, dtype=np.float32)


def _maxpool(x, at):
    kh, kw = at["kernel_shape"]
    sh, sw = at.get("strides", (1, 1))
    p = at.get("pads", (0, 0, 0, 0))
    assert not at.get("ceil_mode", 0)
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])), constant_values=-np.inf)
    # separable max: rows then columns
    x = sliding_window_view(x, kh, axis=2)[:, :, ::sh].max(axis=-1)
    x = sliding_window_view(x, kw, axis=3)[:, :, :, ::sw].max(axis=-1)
    return np.ascontiguousarray(x)


def _resize(x, roi, scales, at):
    assert at.get("mode") == "nearest" and at.get("nearest_mode") == "floor"
    assert at.get("coordinate_transformation_mode") == "asymmetric"
    for axis, s in enumerate(scales):
        assert float(s).is_integer(), "only integer scales supported"
        if s != 1:
            x = np.repeat(x, int(s), axis=axis)
    return x


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def evaluate(model, feeds, on_value=None):
    """Run the graph with numpy; on_value(node, name, array) sees every value."""
    g = model.graph
    vals = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    vals.update(feeds)
    for node in g.node:
        at = _attrs(node)
        x = [vals[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Constant":
            out = [numpy_helper.to_array(helper.get_attribute_value(node.attribute[0]))]
        elif op == "Conv":
            out = [_conv(x[0], x[1], x[2] if len(x) > 2 else None, at)]
        elif op == "Sigmoid":
            out = [_sigmoid(x[0])]
        elif op == "Mul":
            out = [(x[0] * x[1]).astype(np.float32)]
        elif op == "Add":
            out = [(x[0] + x[1]).astype(np.float32)]
        elif op == "Pow":
            out = [np.power(x[0], x[1]).astype(np.float32)]
        elif op == "Concat":
            out = [np.concatenate(x, axis=at["axis"])]
        elif op == "MaxPool":
            out = [_maxpool(x[0], at)]
        elif op == "Resize":
            out = [_resize(x[0], x[1], x[2], at)]
        elif op == "Reshape":
            out = [x[0].reshape(x[1])]
        elif op == "Transpose":
            out = [np.ascontiguousarray(x[0].transpose(at["perm"]))]
        elif op == "Split":
            sizes = at["split"] if "split" in at else x[1].tolist()
            out = np.split(x[0], np.cumsum(sizes)[:-1], axis=at.get("axis", 0))
        else:
            raise NotImplementedError(f"numpy evaluator: op {op} ({node.name})")
        for name, v in zip(node.output, out):
            vals[name] = v
            if on_value is not None:
                on_value(node, name, v)
    return [vals[o.name] for o in g.output]


def selfcheck_evaluator():
    """The numpy Conv and MaxPool against naive loops on small random cases."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 3, 9, 8)).astype(np.float32)
    for k, st, p in [(1, 1, 0), (3, 1, 1), (3, 2, 1), (6, 2, 2)]:
        w = rng.standard_normal((4, 3, k, k)).astype(np.float32)
        b = rng.standard_normal(4).astype(np.float32)
        got = _conv(x, w, b, {"kernel_shape": (k, k), "strides": (st, st), "pads": (p,) * 4})
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        ho, wo = (9 + 2 * p - k) // st + 1, (8 + 2 * p - k) // st + 1
        want = np.zeros((1, 4, ho, wo))
        for o in range(4):
            for i in range(ho):
                for j in range(wo):
                    want[0, o, i, j] = b[o] + (xp[0, :, i * st:i * st + k, j * st:j * st + k] * w[o]).sum()
        check(got.shape == want.shape and np.allclose(got, want, atol=1e-4),
              f"numpy evaluator: Conv k{k} s{st} p{p} is wrong")
    got = _maxpool(x, {"kernel_shape": (5, 5), "strides": (1, 1), "pads": (2,) * 4})
    xp = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-np.inf)
    want = np.array([[[[xp[0, c, i:i + 5, j:j + 5].max() for j in range(8)] for i in range(9)]
                      for c in range(3)]])
    check(np.array_equal(got, want), "numpy evaluator: MaxPool is wrong")


def smooth_image(h, w):
    """A deterministic image-like input: smooth gradients and blobs in 0..1."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h, dtype=np.float32),
                         np.linspace(0, 1, w, dtype=np.float32), indexing="ij")
    r = 0.5 + 0.5 * np.sin(9 * xx + 4 * yy)
    g = yy
    b = 0.5 + 0.5 * np.cos(15 * xx * yy)
    return np.stack([r, g, b])[None].astype(np.float32)


def flat_image(h, w, rgb):
    return np.broadcast_to(np.array(rgb, dtype=np.float32).reshape(1, 3, 1, 1), (1, 3, h, w)).copy()


def numeric_check(label, model, image):
    """Run the model on image; every value must be finite, without denormals,
    and the activations in a moderate range (neither exploding nor vanishing)."""
    tiny = np.finfo(np.float32).tiny
    g = model.graph
    sig_inputs = {n.input[0] for n in g.node if n.op_type == "Sigmoid"}
    stats = {"max_abs": 0.0, "min_rms": np.inf, "max_pre_sigmoid": 0.0, "bad": []}

    def on_value(node, name, v):
        if v.dtype != np.float32 or node.op_type == "Constant":
            return
        if not np.all(np.isfinite(v)):
            stats["bad"].append(f"{name}: non-finite values")
            return
        a = np.abs(v)
        nz = a[a > 0]
        if nz.size and nz.min() < tiny:
            stats["bad"].append(f"{name}: denormals (min |x| {nz.min():.3g})")
        if name in sig_inputs:
            stats["max_pre_sigmoid"] = max(stats["max_pre_sigmoid"], float(a.max()))
        if node.name.startswith("/model.24") and node.op_type != "Conv":
            return  # the Detect decode holds pixel coordinates and probabilities
        stats["max_abs"] = max(stats["max_abs"], float(a.max()))
        if node.op_type == "Mul":  # SiLU outputs
            stats["min_rms"] = min(stats["min_rms"], float(np.sqrt(np.mean(np.square(v)))))

    t = time.time()
    (out,) = evaluate(model, {"images": image}, on_value)
    dt = time.time() - t
    ok = check(not stats["bad"], f"{label}: " + "; ".join(stats["bad"][:5]))
    ok &= check(np.all(np.isfinite(out)), f"{label}: output not finite")
    ok &= check(stats["max_pre_sigmoid"] < 50,
                f"{label}: a Sigmoid input reaches {stats['max_pre_sigmoid']:.3g} (want < 50)")
    ok &= check(stats["max_abs"] < 100, f"{label}: an activation reaches {stats['max_abs']:.3g} (want < 100)")
    ok &= check(stats["min_rms"] > 0.02, f"{label}: a SiLU output has rms {stats['min_rms']:.3g} (want > 0.02)")
    conf = out[..., 4:5] * out[..., 5:]
    print(f"  {label} {list(image.shape)}: output {list(out.shape)}, finite, "
          f"max |activation| {stats['max_abs']:.3g}, min SiLU rms {stats['min_rms']:.3g}, "
          f"max |sigmoid input| {stats['max_pre_sigmoid']:.3g}, max obj*cls {float(conf.max()):.3g}, {dt:.1f}s")
    return ok


# --------------------------------------------------------------------------- main


def checker_ok(model, label):
    try:
        onnx.checker.check_model(model)
        return True
    except Exception as e:
        fail(f"{label}: onnx.checker: {str(e).strip()[:600]}")
        return False


def output_shape(model, label="model"):
    inferred = infer(model, label)
    return None if inferred is None else shape_of(inferred.graph.output[0])


def main():
    ap = argparse.ArgumentParser(description="test gen_yolov5.py")
    ap.add_argument("--shared", default=SHARED,
                    help="the shared data directory (holds models/yolov5n.onnx; default: %(default)s)")
    ap.add_argument("--no-numeric", action="store_true", help="skip the numpy forward passes")
    args = ap.parse_args()
    t0 = time.time()
    gen = load_generator()

    ref_path = os.path.join(args.shared, "models", "yolov5n.onnx")
    if not os.path.exists(ref_path):
        print(f"FAIL: reference model {ref_path} not found (pass --shared DIR)")
        return 1
    ref = onnx.load(ref_path)

    with tempfile.TemporaryDirectory() as tmp:
        # 1. yolov5n via the CLI, against the official export
        print("[1] yolov5n vs reference")
        out = os.path.join(tmp, "yolov5n.onnx")
        r = subprocess.run([sys.executable, GEN, "--size", "n", "--out", out],
                           capture_output=True, text=True)
        if not check(r.returncode == 0, f"gen_yolov5.py --size n failed: {r.stderr.strip()}"):
            return 1
        print("  " + r.stdout.strip())
        n_model = onnx.load(out)
        checker_ok(n_model, "yolov5n")
        compare_with_reference(n_model, ref)
        n_params = gen.count_parameters(n_model)
        ref_params = gen.count_parameters(ref)
        check(n_params == ref_params, f"yolov5n parameters {n_params}, reference {ref_params}")
        print(f"  yolov5n: {n_params:,} parameters (reference {ref_params:,}), "
              f"{n_params / EXPECTED_PARAMS['n'] - 1:+.2%} vs ultralytics")

        # 2. options and determinism (cheap, on n)
        print("[2] options")
        again = gen.build_model("n", seed=0).SerializeToString()
        check(again == n_model.SerializeToString(), "same seed gives a different model")
        other = gen.build_model("n", seed=1)
        check(numpy_helper.to_array(other.graph.initializer[0]).tobytes()
              != numpy_helper.to_array(n_model.graph.initializer[0]).tobytes(),
              "different seeds give the same weights")
        small = gen.build_model("n", image_size=128, batch=2)
        check([t.raw_data for t in small.graph.initializer]
              == [t.raw_data for t in n_model.graph.initializer],
              "weights depend on --image-size / --batch")
        m13 = gen.build_model("n", opset=13)
        checker_ok(m13, "opset 13")
        check([n.op_type for n in m13.graph.node if n.op_type != "Constant"]
              == [n.op_type for n in ref.graph.node if n.op_type != "Constant"],
              "opset 13: op sequence differs")
        shape = output_shape(m13, "opset 13")
        check(shape == (1, 25200, 85), f"opset 13: output {shape}")
        mb = gen.build_model("n", image_size=(384, 640), batch=2, classes=3)
        checker_ok(mb, "batch 2, 384x640, 3 classes")
        want = (2, 3 * (48 * 80 + 24 * 40 + 12 * 20), 8)
        shape = output_shape(mb, "batch 2, 384x640, 3 classes")
        check(shape == want, f"batch 2, 384x640, 3 classes: output {shape}, want {want}")
        bad = subprocess.run([sys.executable, GEN, "--size", "n", "--out", os.path.join(tmp, "bad.onnx"),
                              "--image-size", "600"], capture_output=True, text=True)
        check(bad.returncode != 0 and "multiples of 32" in bad.stderr,
              "--image-size 600 should be rejected")

        # 3. the other sizes
        print("[3] sizes")
        counts = {"n": n_params}
        for size in "smlx":
            t = time.time()
            model = gen.build_model(size)
            checker_ok(model, f"yolov5{size}")
            shape = output_shape(model, f"yolov5{size}")
            check(shape == (1, 25200, 85), f"yolov5{size}: output {shape}")
            counts[size] = gen.count_parameters(model)
            print(f"  yolov5{size}: {counts[size]:,} parameters, {len(model.graph.node)} nodes, "
                  f"output {shape}, {counts[size] / EXPECTED_PARAMS[size] - 1:+.2%} vs ultralytics, "
                  f"{time.time() - t:.1f}s")
            del model
        for size, want in EXPECTED_PARAMS.items():
            rel = abs(counts[size] - want) / want
            check(rel <= 0.02, f"yolov5{size}: {counts[size]:,} parameters, ultralytics {want:,.0f} "
                  f"({rel:.1%} off)")

        # 4. numerics
        if args.no_numeric:
            print("[4] numeric checks skipped (--no-numeric)")
        else:
            print("[4] numerics (numpy evaluator)")
            selfcheck_evaluator()
            rng = np.random.default_rng(123)
            numeric_check("yolov5n random", n_model, rng.random((1, 3, 640, 640), dtype=np.float32))
            numeric_check("yolov5n smooth", n_model, smooth_image(640, 640))
            numeric_check("yolov5n yellow", n_model, flat_image(640, 640, (1.0, 1.0, 0.0)))
            for size in "smlx":
                model = gen.build_model(size, image_size=128)
                numeric_check(f"yolov5{size} random", model,
                              rng.random((1, 3, 128, 128), dtype=np.float32))
                if size == "x":
                    numeric_check("yolov5x smooth", model, smooth_image(128, 128))
                del model

    dt = time.time() - t0
    if FAILURES:
        print(f"\n{len(FAILURES)} failure(s) in {dt:.1f}s")
        return 1
    print(f"\nOK: all checks passed in {dt:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

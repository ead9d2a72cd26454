#!/usr/bin/python3
"""Prints every distinct Conv problem of one or more ONNX models, one line each, for kernel_bench.

    /usr/bin/python3 benchmarks/kernels/extract_shapes.py \
        yolov5n=../shared/models/yolov5n.onnx yolov5s=/tmp/yolov5s.onnx yolov5l=/tmp/yolov5l.onnx \
        > benchmarks/kernels/shapes_yolov5.txt

Each argument is MODEL.onnx or LABEL=MODEL.onnx (the label defaults to the file's stem). Shapes come
from ONNX shape inference, so the models need static input shapes (batch 1 at 640x640 for the
YOLOv5 files). A line reads

    n1_ic16_ih160_oc32_kh3_sh2_ph1_g1 silu residual  # yolov5n model.1

- the problem, benchdnn style: n (batch), ic, ih, oc, kh, sh, ph, g; iw, kw, sw, pw are written only
  when they differ from ih, kh, sh, ph, and dh (dilation) only when it is not 1. Output size and MACs
  follow from these.
- flags for what Sparrow fuses into the conv: `silu` (Sigmoid + Mul), `relu` or `sigmoid` (a lone
  activation), `residual` (an Add of a same-shape tensor computed before the conv), `nobias`.
- after `#`, where the problem occurs (model label and layer name, `xN` for repeats).

The fusion rules mirror engine/src/passes/fuse_silu.cpp, fuse_conv_activation.cpp and
fuse_conv_residual.cpp. Only Debian's python3-onnx is needed.
"""
import argparse
import collections
import os
import sys

import onnx
from onnx import shape_inference


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def short_name(node_name):
    # "/model.2/m/m.0/cv1/conv/Conv" -> "model.2.m.0.cv1"; other names are kept as they are.
    parts = [p for p in node_name.split("/") if p]
    if len(parts) >= 2 and parts[-1] == "Conv":
        parts = parts[:-1]
        if parts and parts[-1] == "conv":
            parts = parts[:-1]
        # "m/m.0" repeats the module name: keep the indexed part only.
        out = []
        for p in parts:
            if out and p.startswith(out[-1] + "."):
                out[-1] = p
            else:
                out.append(p)
        return ".".join(out)
    return node_name or "?"


class Model:
    def __init__(self, path):
        model = shape_inference.infer_shapes(onnx.load(path))
        g = model.graph
        self.shapes = {}
        for v in list(g.input) + list(g.value_info) + list(g.output):
            dims = v.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                self.shapes[v.name] = [d.dim_value for d in dims]
        for init in g.initializer:
            self.shapes[init.name] = list(init.dims)
        self.initializers = {init.name for init in g.initializer}
        self.nodes = list(g.node)
        self.outputs = {o.name for o in g.output}
        self.producer = {}
        self.consumers = collections.defaultdict(list)
        for i, n in enumerate(self.nodes):
            for o in n.output:
                self.producer[o] = i
            for x in n.input:
                if x:
                    self.consumers[x].append(i)

    def shape(self, value):
        if value not in self.shapes:
            sys.exit(f"extract_shapes: no static shape for '{value}' (does the model have a static input?)")
        return self.shapes[value]

    def single_consumer(self, value):
        c = self.consumers[value]
        return self.nodes[c[0]] if len(c) == 1 and value not in self.outputs else None

    def activation(self, conv):
        """(flag, value after the activation) for the activation Sparrow fuses into this conv."""
        out = conv.output[0]
        if out in self.outputs:
            return None, out
        readers = [self.nodes[i] for i in self.consumers[out]]
        # SiLU: x * Sigmoid(x), the Sigmoid read by the Mul only.
        if len(readers) == 2:
            sig = next((r for r in readers if r.op_type == "Sigmoid"), None)
            mul = next((r for r in readers if r.op_type == "Mul"), None)
            if sig is not None and mul is not None and sorted(mul.input) == sorted([out, sig.output[0]]):
                if self.single_consumer(sig.output[0]) is mul:
                    return "silu", mul.output[0]
        if len(readers) == 1 and readers[0].op_type in ("Relu", "Sigmoid", "Silu"):
            return readers[0].op_type.lower(), readers[0].output[0]
        return None, out


def residual_convs(model, conv_output_after_act):
    """The convs whose Add Sparrow folds in as a residual sum (see fuse_conv_residual.cpp)."""
    fused = set()
    value_to_conv = {v: c for c, v in conv_output_after_act.items()}
    for idx, add in enumerate(model.nodes):
        if add.op_type != "Add" or len(add.input) != 2:
            continue
        out_shape = model.shape(add.output[0])
        best = None
        for side in (0, 1):
            value, other = add.input[side], add.input[1 - side]
            conv = value_to_conv.get(value)
            if conv is None or conv in fused or model.single_consumer(value) is not add:
                continue
            if model.shape(value) != out_shape or model.shape(other) != out_shape:
                continue
            if best is None or conv > best[0]:
                best = (conv, other)
        if best is None:
            continue
        conv, other = best
        # The residual must exist before the conv runs.
        if other in model.producer and model.producer[other] > conv:
            continue
        fused.add(conv)
    return fused


def problems(model):
    conv_output_after_act = {}
    acts = {}
    for i, n in enumerate(model.nodes):
        if n.op_type == "Conv":
            acts[i], conv_output_after_act[i] = model.activation(n)
    residual = residual_convs(model, conv_output_after_act)
    for i, n in enumerate(model.nodes):
        if n.op_type != "Conv":
            continue
        x, w = model.shape(n.input[0]), model.shape(n.input[1])
        if len(x) != 4:
            sys.exit(f"extract_shapes: {n.name}: only 2-D convs are supported, input {x}")
        k = attr(n, "kernel_shape", w[2:])
        s = attr(n, "strides", [1, 1])
        d = attr(n, "dilations", [1, 1])
        p = attr(n, "pads", [0, 0, 0, 0])
        if attr(n, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            sys.exit(f"extract_shapes: {n.name}: auto_pad is not supported")
        if p[0] != p[2] or p[1] != p[3]:
            sys.exit(f"extract_shapes: {n.name}: asymmetric pads {p} are not supported")
        g = attr(n, "group", 1)
        desc = f"n{x[0]}_ic{x[1]}_ih{x[2]}"
        if x[3] != x[2]:
            desc += f"_iw{x[3]}"
        desc += f"_oc{w[0]}_kh{k[0]}"
        if k[1] != k[0]:
            desc += f"_kw{k[1]}"
        desc += f"_sh{s[0]}"
        if s[1] != s[0]:
            desc += f"_sw{s[1]}"
        desc += f"_ph{p[0]}"
        if p[1] != p[0]:
            desc += f"_pw{p[1]}"
        if d[0] != 1 or d[1] != 1:
            desc += f"_dh{d[0]}" + (f"_dw{d[1]}" if d[1] != d[0] else "")
        desc += f"_g{g}"
        flags = []
        if acts[i]:
            flags.append(acts[i])
        if i in residual:
            flags.append("residual")
        if len(n.input) < 3 or not n.input[2]:
            flags.append("nobias")
        yield desc + "".join(" " + f for f in flags), short_name(n.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", metavar="[LABEL=]MODEL.onnx")
    args = parser.parse_args()

    found = collections.OrderedDict()  # problem line -> OrderedDict(label -> [layer names])
    labels = []
    for arg in args.models:
        label, _, path = arg.rpartition("=")
        label = label or os.path.splitext(os.path.basename(path))[0]
        labels.append(label)
        for line, layer in problems(Model(path)):
            found.setdefault(line, collections.OrderedDict()).setdefault(label, []).append(layer)

    print("# Distinct Conv problems of " + ", ".join(labels) + ", written by benchmarks/kernels/extract_shapes.py.")
    print("# problem [silu|relu|sigmoid] [residual] [nobias]  # model layer(s); format: see extract_shapes.py")
    width = max(len(line) for line in found)
    for line, where in found.items():
        notes = []
        for label, layers in where.items():
            shown = layers if len(layers) <= 3 else layers[:3] + [f"+{len(layers) - 3} more"]
            notes.append(f"{label} " + " ".join(shown) + (f" (x{len(layers)})" if len(layers) > 1 else ""))
        print(f"{line.ljust(width)}  # " + "; ".join(notes))


if __name__ == "__main__":
    main()

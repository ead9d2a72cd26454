#!/usr/bin/python3
"""Generate YOLOv5 v6.x ONNX benchmark models with seeded random weights.

The graph reproduces, node for node, what the ultralytics YOLOv5 v6.1 exporter
writes for a static-shape export (see ../shared/models/yolov5n.onnx):
every Conv has its BatchNorm folded into a bias and is followed by SiLU as
Sigmoid + Mul; the Detect head is exported with its decode (Reshape,
Transpose, Sigmoid, Split, grid / anchor_grid constants, Pow, Concat).
Node names, value names and initializer names (and their order) follow the
exporter's style, e.g. node /model.2/m/m.0/cv1/conv/Conv, weight
model.2.m.0.cv1.conv.weight.

The weights are random (numpy, seeded), each conv's scaled on calibration
images so that activations stay in a moderate range for any input in 0..1:
no NaN, inf or denormals (see "Weights" below). The Detect biases get
ultralytics' objectness/class priors, so, like an untrained ultralytics model,
the random model predicts (almost) nothing above the usual confidence
thresholds on noise or natural images.

Usage:
  /usr/bin/python3 benchmarks/models/gen_yolov5.py --size s --out yolov5s.onnx
      [--image-size 640 | --image-size H W] [--batch 1] [--classes 80]
      [--seed 0] [--opset 12]
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (depth_multiple, width_multiple) of yolov5{n,s,m,l,x}.yaml
SIZES = {
    "n": (0.33, 0.25),
    "s": (0.33, 0.50),
    "m": (0.67, 0.75),
    "l": (1.00, 1.00),
    "x": (1.33, 1.25),
}

# P3/8, P4/16, P5/32 anchors in input pixels, as in yolov5*.yaml
ANCHORS = [
    [10, 13, 16, 30, 33, 23],
    [30, 61, 62, 45, 59, 119],
    [116, 90, 156, 198, 373, 326],
]
STRIDES = [8, 16, 32]
# P3/8 to P6/64, as in yolov5*6.yaml (four detection heads, trained at 1280)
ANCHORS_P6 = [
    [19, 27, 44, 40, 38, 94],
    [96, 68, 86, 152, 180, 137],
    [140, 301, 303, 264, 238, 542],
    [436, 615, 739, 380, 925, 792],
]
STRIDES_P6 = [8, 16, 32, 64]

COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "stop sign",
    "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag",
    "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon",
    "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
    "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
]

# Weights. Every parameter is drawn from a seeded numpy Generator, in the
# exporter's state_dict order. Then, as the model is built, a few calibration
# images run through it in numpy, and each conv's weights are multiplied by
# one factor (as a folded BatchNorm's scale would) so that its output, bias
# excluded, has root-mean-square GAMMA on the calibration image where it is
# largest. Biases (the folded BatchNorm's shift) stay small and random.
# Calibration images: uniform noise and flat colours (incl. the corners of the
# RGB cube). Random convs pass low frequencies through more than high ones, so
# flat images give the largest activations in deep layers and bound what any
# input in 0..1 produces; noise and natural images give smaller activations
# (SiLU outputs with rms ~0.05 to 1, |x| < ~15). The numpy pass uses periodic
# padding, so that a small image has the statistics of the interior of a
# large one. The scale factors are rounded to 1/SCALE_STEPS of an octave, so
# that last-bit differences between BLAS builds do not change the weights.
# The weights depend on size, classes and seed only, not on --image-size,
# --batch or --opset.
CALIB_SIZE = 64              # the noise image (twice that for P6: its deepest map must be 2x2,
                             # as a 1x1 map stands for a flat image)
N_FLAT = 8                   # random flat colours, besides the 8 RGB cube corners
GAMMA = 3.0                  # Conv + SiLU
GAMMA_RESIDUAL = 1.5         # last conv of a residual Bottleneck branch
GAMMA_DETECT = 3.0           # Detect 1x1 convs (plus ultralytics' bias priors)
BIAS_STD = 0.1
SCALE_STEPS = 16

MIN_OPSET = 11


def make_divisible(x, divisor=8):
    """Round x up to a multiple of divisor (ultralytics make_divisible)."""
    return int(math.ceil(x / divisor) * divisor)


def max_opset():
    return onnx.defs.onnx_opset_version()


def ir_version_for_opset(opset):
    """Smallest IR version whose release supports the given ai.onnx opset."""
    for entry in helper.VERSION_TABLE:  # (release, ir, ai.onnx opset, ...)
        if entry[2] >= opset:
            return entry[1]
    return onnx.IR_VERSION


# --- numpy forward pass used for the calibration (one image, 1xCxHxW float32,
# periodic boundary)


def np_conv(x, w, stride, pad):
    """Cross-correlation without bias, wrap-around padding: im2col + matmul."""
    _, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    if h == wd == 1:  # a flat map: with periodic padding, every tap sees the same value
        return np.dot(w.sum(axis=(2, 3)), x.reshape(c, 1)).reshape(1, o, 1, 1)
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    if kh == kw == 1 and stride == 1 and pad == 0:
        return np.dot(w.reshape(o, c), x.reshape(c, h * wd)).reshape(1, o, ho, wo)
    xp = np.pad(x[0], ((0, 0), (pad, pad), (pad, pad)), mode="wrap")
    cols = np.empty((kh, kw, c, ho, wo), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[i, j] = xp[:, i:i + stride * (ho - 1) + 1:stride,
                            j:j + stride * (wo - 1) + 1:stride]
    wmat = w.transpose(0, 2, 3, 1).reshape(o, kh * kw * c)
    return np.dot(wmat, cols.reshape(kh * kw * c, ho * wo)).reshape(1, o, ho, wo)


def np_silu(z):
    return z / (1.0 + np.exp(-z))


def np_maxpool_same(x, k):
    if x.shape[2] == x.shape[3] == 1:
        return x
    p = k // 2
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="wrap")
    h, w = x.shape[2] - 2 * p, x.shape[3] - 2 * p
    rows = np.max([x[:, :, i:i + h, :] for i in range(k)], axis=0)
    return np.max([rows[:, :, :, j:j + w] for j in range(k)], axis=0)


def np_upsample2(x):
    if x.shape[2] == x.shape[3] == 1:
        return x  # flat maps stay 1x1
    return x.repeat(2, axis=2).repeat(2, axis=3)


def calibration_images(rng, size=CALIB_SIZE):
    """Uniform white noise (`size` square) and flat colours: the 8 corners
    of the RGB cube and N_FLAT random ones. A flat image is represented as a
    1x1 map, which is exact with periodic padding."""
    noise = rng.random((1, 3, size, size), dtype=np.float32)
    corners = np.array([[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in range(8)], dtype=np.float32)
    colours = np.concatenate([corners, rng.random((N_FLAT, 3), dtype=np.float32)])
    return [noise] + [c.reshape(1, 3, 1, 1) for c in colours]


class GraphBuilder:
    """Collects nodes and parameters, naming them like torch.onnx.export, and
    runs the calibration input through the graph as it is built."""

    def __init__(self, rng, opset, calib_input):
        """calib_input: list of calibration images (1x3xHxW each)."""
        self.rng = rng
        self.opset = opset
        self.nodes = []
        self.params = []                         # [name, array], state_dict order
        self.values = {"images": calib_input}    # value name -> calibration activations
        self._counters = {}

    def node(self, op, scope, inputs, n_outputs=1, output_names=None, **attrs):
        key = (scope, op)
        k = self._counters.get(key, 0)
        self._counters[key] = k + 1
        name = f"{scope}/{op}" + (f"_{k}" if k else "")
        outputs = output_names or [f"{name}_output_{i}" for i in range(n_outputs)]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if n_outputs == 1 else outputs

    def constant(self, scope, array):
        array = np.asarray(array)
        return self.node("Constant", scope, [], value=numpy_helper.from_array(array, name=""))

    def param(self, name, shape, std=1.0):
        array = self.rng.standard_normal(shape, dtype=np.float32)
        if std != 1.0:
            array *= np.float32(std)
        self.params.append([name, array])
        return name, array

    def conv_params(self, prefix, c1, c2, k):
        """Register weight (unit normal, scaled later by conv()) and bias."""
        return (self.param(f"{prefix}.weight", (c2, c1, k, k)),
                self.param(f"{prefix}.bias", (c2,), BIAS_STD))

    def calc(self, out, fn, *inputs):
        """Compute out's calibration activations from those of inputs."""
        self.values[out] = [fn(*xs) for xs in zip(*(self.values[i] for i in inputs))]
        return out

    def conv(self, scope, x, w, b, k, s, p, gamma):
        """Emit a Conv whose weights are scaled (in place) so that its output,
        bias excluded, has root-mean-square gamma on the calibration image
        where it is largest."""
        (wname, warr), (bname, barr) = w, b
        zs = [np_conv(v, warr, s, p) for v in self.values[x]]
        rms = max(math.sqrt(np.mean(np.square(z, dtype=np.float64))) for z in zs)
        octaves = round(math.log2(gamma / max(rms, 1e-30)) * SCALE_STEPS) / SCALE_STEPS
        scale = np.float32(2.0 ** octaves)
        warr *= scale
        y = self.node("Conv", scope, [x, wname, bname],
                      dilations=[1, 1], group=1, kernel_shape=[k, k],
                      pads=[p, p, p, p], strides=[s, s])
        self.values[y] = [z * scale + barr[:, None, None] for z in zs]
        return y

    def add_initializers(self, graph):
        """Append the parameters to graph.initializer (without an extra copy)."""
        for name, array in self.params:
            t = graph.initializer.add()
            t.name = name
            t.data_type = TensorProto.FLOAT
            t.dims.extend(array.shape)
            t.raw_data = np.ascontiguousarray(array, dtype="<f4").tobytes()


# --- modules: __init__ registers parameters (state_dict order), __call__ emits nodes


class Conv:
    """ultralytics Conv: Conv2d + BN (folded) + SiLU."""

    def __init__(self, gb, path, scope, c1, c2, k=1, s=1, p=None, gamma=GAMMA):
        self.gb, self.scope = gb, scope
        self.k, self.s = k, s
        self.p = k // 2 if p is None else p
        self.c2 = c2
        self.gamma = gamma
        self.w, self.b = gb.conv_params(f"{path}.conv", c1, c2, k)

    def __call__(self, x):
        gb = self.gb
        y = gb.conv(f"{self.scope}/conv", x, self.w, self.b, self.k, self.s, self.p, self.gamma)
        sig = gb.node("Sigmoid", f"{self.scope}/act", [y])
        out = gb.node("Mul", f"{self.scope}/act", [y, sig])
        gb.calc(out, np_silu, y)
        del gb.values[y]
        return out


class Bottleneck:
    def __init__(self, gb, path, scope, c, shortcut):
        self.gb, self.scope, self.shortcut = gb, scope, shortcut
        self.cv1 = Conv(gb, f"{path}.cv1", f"{scope}/cv1", c, c, 1, 1)
        gamma = GAMMA_RESIDUAL if shortcut else GAMMA
        self.cv2 = Conv(gb, f"{path}.cv2", f"{scope}/cv2", c, c, 3, 1, gamma=gamma)

    def __call__(self, x):
        gb = self.gb
        y = self.cv2(self.cv1(x))
        if not self.shortcut:
            return y
        out = gb.node("Add", self.scope, [x, y])
        return gb.calc(out, np.add, x, y)


def concat(gb, scope, xs):
    y = gb.node("Concat", scope, xs, axis=1)
    return gb.calc(y, lambda *vs: np.concatenate(vs, axis=1), *xs)


class C3:
    def __init__(self, gb, path, scope, c1, c2, n, shortcut=True):
        self.gb, self.scope = gb, scope
        c_ = int(c2 * 0.5)
        self.cv1 = Conv(gb, f"{path}.cv1", f"{scope}/cv1", c1, c_, 1, 1)
        self.cv2 = Conv(gb, f"{path}.cv2", f"{scope}/cv2", c1, c_, 1, 1)
        self.cv3 = Conv(gb, f"{path}.cv3", f"{scope}/cv3", 2 * c_, c2, 1, 1)
        self.m = [Bottleneck(gb, f"{path}.m.{i}", f"{scope}/m/m.{i}", c_, shortcut)
                  for i in range(n)]
        self.c2 = c2

    def __call__(self, x):
        y = self.cv1(x)
        for b in self.m:
            y = b(y)
        y2 = self.cv2(x)
        return self.cv3(concat(self.gb, self.scope, [y, y2]))


class SPPF:
    def __init__(self, gb, path, scope, c1, c2, k=5):
        self.gb, self.scope, self.k = gb, scope, k
        c_ = c1 // 2
        self.cv1 = Conv(gb, f"{path}.cv1", f"{scope}/cv1", c1, c_, 1, 1)
        self.cv2 = Conv(gb, f"{path}.cv2", f"{scope}/cv2", c_ * 4, c2, 1, 1)
        self.c2 = c2

    def __call__(self, x):
        gb, k = self.gb, self.k
        ys = [self.cv1(x)]
        for i in range(3):
            sub = "m" if i == 0 else f"m_{i}"
            y = gb.node("MaxPool", f"{self.scope}/{sub}", [ys[-1]],
                        ceil_mode=0, kernel_shape=[k, k],
                        pads=[k // 2] * 4, strides=[1, 1])
            ys.append(gb.calc(y, lambda v: np_maxpool_same(v, k), ys[-1]))
        return self.cv2(concat(gb, self.scope, ys))


def upsample(gb, scope, x):
    """nn.Upsample(scale_factor=2, mode='nearest') as the exporter writes it."""
    scales = gb.constant(scope, np.array([1.0, 1.0, 2.0, 2.0], dtype=np.float32))
    if gb.opset >= 13:
        roi = ""  # the exporter leaves roi empty from opset 13 on
    else:
        roi = gb.constant(scope, np.zeros((0,), dtype=np.float32))
    y = gb.node("Resize", scope, [x, roi, scales],
                coordinate_transformation_mode="asymmetric", cubic_coeff_a=-0.75,
                mode="nearest", nearest_mode="floor")
    return gb.calc(y, np_upsample2, x)


class Detect:
    def __init__(self, gb, path, scope, nc, chs, batch, grids, strides=STRIDES, anchors=ANCHORS):
        self.gb, self.scope = gb, scope
        self.nc, self.no, self.na = nc, nc + 5, len(anchors[0]) // 2
        self.batch, self.grids = batch, grids
        self.strides, self.anchors = strides, anchors
        self.m = []
        for i, c in enumerate(chs):
            # ultralytics Model._initialize_biases: objectness and class priors
            prior = np.zeros((self.na, self.no), dtype=np.float64)
            prior[:, 4] = math.log(8 / (640 / strides[i]) ** 2)
            prior[:, 5:] = math.log(0.6 / (nc - 0.99))
            w, b = gb.conv_params(f"{path}.m.{i}", c, self.na * self.no, 1)
            b[1][...] += prior.reshape(-1).astype(np.float32)
            self.m.append((w, b))
        self._split_input = None

    def _split_sizes(self):
        if self._split_input is None:
            sizes = np.array([2, 2, self.nc + 1], dtype=np.int64)
            self._split_input = self.gb.node(
                "Constant", self.scope, [], output_names=["onnx::Split_sizes"],
                value=numpy_helper.from_array(sizes, name=""))
        return self._split_input

    def __call__(self, xs):
        gb, sc, na, no, nc = self.gb, self.scope, self.na, self.no, self.nc
        outs = []
        for i, x in enumerate(xs):
            ny, nx = self.grids[i]
            w, b = self.m[i]
            y = gb.conv(f"{sc}/m.{i}", x, w, b, 1, 1, 0, GAMMA_DETECT)
            shape = gb.constant(sc, np.array([self.batch, na, no, ny, nx], dtype=np.int64))
            y = gb.node("Reshape", sc, [y, shape])
            y = gb.node("Transpose", sc, [y], perm=[0, 1, 3, 4, 2])
            y = gb.node("Sigmoid", sc, [y])
            if gb.opset >= 13:
                xy, wh, conf = gb.node("Split", sc, [y, self._split_sizes()],
                                       n_outputs=3, axis=4)
            else:
                xy, wh, conf = gb.node("Split", sc, [y], n_outputs=3, axis=4,
                                       split=[2, 2, nc + 1])
            # xy = (xy * 2 + grid - 0.5) * stride   (grid already holds the -0.5)
            two = gb.constant(sc, np.array(2.0, dtype=np.float32))
            xy = gb.node("Mul", sc, [xy, two])
            yv, xv = np.meshgrid(np.arange(ny, dtype=np.float32),
                                 np.arange(nx, dtype=np.float32), indexing="ij")
            grid = np.broadcast_to(np.stack((xv, yv), 2)[None, None], (1, na, ny, nx, 2))
            grid = (grid - np.float32(0.5)).astype(np.float32)
            xy = gb.node("Add", sc, [xy, gb.constant(sc, grid)])
            stride = gb.constant(sc, np.array(float(self.strides[i]), dtype=np.float32))
            xy = gb.node("Mul", sc, [xy, stride])
            # wh = (wh * 2) ** 2 * anchor_grid
            two = gb.constant(sc, np.array(2.0, dtype=np.float32))
            wh = gb.node("Mul", sc, [wh, two])
            expo = gb.constant(sc, np.array(2.0, dtype=np.float32))
            wh = gb.node("Pow", sc, [wh, expo])
            anchors = np.array(self.anchors[i], dtype=np.float32).reshape(1, na, 1, 1, 2)
            anchor_grid = np.ascontiguousarray(np.broadcast_to(anchors, (1, na, ny, nx, 2)))
            wh = gb.node("Mul", sc, [wh, gb.constant(sc, anchor_grid)])
            y = gb.node("Concat", sc, [xy, wh, conf], axis=4)
            shape = gb.constant(sc, np.array([self.batch, -1, no], dtype=np.int64))
            outs.append(gb.node("Reshape", sc, [y, shape]))
        return gb.node("Concat", sc, outs, output_names=["output"], axis=1)


class Stem:
    """Layers 0-6, which P5 and P6 models share: down to stride 16. Called on the input, returns
    the stride-8 and stride-16 features (layers 4 and 6) that the head's concats take."""

    def __init__(self, gb, L, ch, rep):
        m0 = Conv(gb, *L(0), 3, ch(64), 6, 2, 2)
        m1 = Conv(gb, *L(1), m0.c2, ch(128), 3, 2)
        m2 = C3(gb, *L(2), m1.c2, ch(128), rep(3))
        m3 = Conv(gb, *L(3), m2.c2, ch(256), 3, 2)
        m4 = C3(gb, *L(4), m3.c2, ch(256), rep(6))
        m5 = Conv(gb, *L(5), m4.c2, ch(512), 3, 2)
        m6 = C3(gb, *L(6), m5.c2, ch(512), rep(9))
        self.m = [m0, m1, m2, m3, m4, m5, m6]

    def __call__(self, x):
        m0, m1, m2, m3, m4, m5, m6 = self.m
        x4 = m4(m3(m2(m1(m0(x)))))
        return x4, m6(m5(x4))


def build_p5_network(gb, L, ch, rep, classes, batch, grids):
    """yolov5.yaml: backbone to P5/32, three detection heads. Returns the Detect module."""
    # parameters are registered in module (state_dict) order, as the exporter does
    stem = Stem(gb, L, ch, rep)
    m4, m6 = stem.m[4], stem.m[6]
    m7 = Conv(gb, *L(7), m6.c2, ch(1024), 3, 2)
    m8 = C3(gb, *L(8), m7.c2, ch(1024), rep(3))
    m9 = SPPF(gb, *L(9), m8.c2, ch(1024), 5)
    m10 = Conv(gb, *L(10), m9.c2, ch(512), 1, 1)
    m13 = C3(gb, *L(13), m10.c2 + m6.c2, ch(512), rep(3), shortcut=False)
    m14 = Conv(gb, *L(14), m13.c2, ch(256), 1, 1)
    m17 = C3(gb, *L(17), m14.c2 + m4.c2, ch(256), rep(3), shortcut=False)
    m18 = Conv(gb, *L(18), m17.c2, ch(256), 3, 2)
    m20 = C3(gb, *L(20), m18.c2 + m14.c2, ch(512), rep(3), shortcut=False)
    m21 = Conv(gb, *L(21), m20.c2, ch(512), 3, 2)
    m23 = C3(gb, *L(23), m21.c2 + m10.c2, ch(1024), rep(3), shortcut=False)
    m24 = Detect(gb, *L(24), classes, [m17.c2, m20.c2, m23.c2], batch, grids)

    # forward
    x4, x6 = stem("images")
    x7 = m7(x6)
    x8 = m8(x7)
    x9 = m9(x8)
    x10 = m10(x9)
    x11 = upsample(gb, "/model.11", x10)
    x12 = concat(gb, "/model.12", [x11, x6])
    x13 = m13(x12)
    x14 = m14(x13)
    x15 = upsample(gb, "/model.15", x14)
    x16 = concat(gb, "/model.16", [x15, x4])
    x17 = m17(x16)
    x18 = m18(x17)
    x19 = concat(gb, "/model.19", [x18, x14])
    x20 = m20(x19)
    x21 = m21(x20)
    x22 = concat(gb, "/model.22", [x21, x10])
    x23 = m23(x22)
    m24([x17, x20, x23])
    return m24


def build_p6_network(gb, L, ch, rep, classes, batch, grids):
    """yolov5*6.yaml: backbone to P6/64, four detection heads. Returns the Detect module."""
    stem = Stem(gb, L, ch, rep)
    m4, m6 = stem.m[4], stem.m[6]
    m7 = Conv(gb, *L(7), m6.c2, ch(768), 3, 2)
    m8 = C3(gb, *L(8), m7.c2, ch(768), rep(3))
    m9 = Conv(gb, *L(9), m8.c2, ch(1024), 3, 2)
    m10 = C3(gb, *L(10), m9.c2, ch(1024), rep(3))
    m11 = SPPF(gb, *L(11), m10.c2, ch(1024), 5)
    m12 = Conv(gb, *L(12), m11.c2, ch(768), 1, 1)
    m15 = C3(gb, *L(15), m12.c2 + m8.c2, ch(768), rep(3), shortcut=False)
    m16 = Conv(gb, *L(16), m15.c2, ch(512), 1, 1)
    m19 = C3(gb, *L(19), m16.c2 + m6.c2, ch(512), rep(3), shortcut=False)
    m20 = Conv(gb, *L(20), m19.c2, ch(256), 1, 1)
    m23 = C3(gb, *L(23), m20.c2 + m4.c2, ch(256), rep(3), shortcut=False)
    m24 = Conv(gb, *L(24), m23.c2, ch(256), 3, 2)
    m26 = C3(gb, *L(26), m24.c2 + m20.c2, ch(512), rep(3), shortcut=False)
    m27 = Conv(gb, *L(27), m26.c2, ch(512), 3, 2)
    m29 = C3(gb, *L(29), m27.c2 + m16.c2, ch(768), rep(3), shortcut=False)
    m30 = Conv(gb, *L(30), m29.c2, ch(768), 3, 2)
    m32 = C3(gb, *L(32), m30.c2 + m12.c2, ch(1024), rep(3), shortcut=False)
    m33 = Detect(gb, *L(33), classes, [m23.c2, m26.c2, m29.c2, m32.c2], batch, grids, STRIDES_P6, ANCHORS_P6)

    # forward
    x4, x6 = stem("images")
    x8 = m8(m7(x6))
    x12 = m12(m11(m10(m9(x8))))
    x15 = m15(concat(gb, "/model.14", [upsample(gb, "/model.13", x12), x8]))
    x16 = m16(x15)
    x19 = m19(concat(gb, "/model.18", [upsample(gb, "/model.17", x16), x6]))
    x20 = m20(x19)
    x23 = m23(concat(gb, "/model.22", [upsample(gb, "/model.21", x20), x4]))
    x26 = m26(concat(gb, "/model.25", [m24(x23), x20]))
    x29 = m29(concat(gb, "/model.28", [m27(x26), x16]))
    x32 = m32(concat(gb, "/model.31", [m30(x29), x12]))
    m33([x23, x26, x29, x32])
    return m33


def build_model(size="n", image_size=(640, 640), batch=1, classes=80, seed=0, opset=12, p6=False):
    """Return an onnx.ModelProto of yolov5{size} (yolov5{size}6 with p6) with seeded random weights."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {sorted(SIZES)}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    h, w = image_size
    multiple = 64 if p6 else 32
    if h <= 0 or w <= 0 or h % multiple or w % multiple:
        raise ValueError(f"image size {h}x{w}: both sides must be positive multiples of {multiple}")
    if batch < 1:
        raise ValueError("batch must be >= 1")
    if classes < 1:
        raise ValueError("classes must be >= 1")
    if not MIN_OPSET <= opset <= max_opset():
        raise ValueError(f"opset {opset} unsupported; use {MIN_OPSET}..{max_opset()}")

    gd, gw = SIZES[size]
    ch = lambda c: make_divisible(c * gw, 8)  # noqa: E731
    rep = lambda n: max(round(n * gd), 1)  # noqa: E731

    calib = calibration_images(np.random.default_rng([seed, 1]), 2 * CALIB_SIZE if p6 else CALIB_SIZE)
    gb = GraphBuilder(np.random.default_rng(seed), opset, calib)
    L = lambda i: (f"model.{i}", f"/model.{i}")  # noqa: E731

    strides = STRIDES_P6 if p6 else STRIDES
    grids = [(h // s, w // s) for s in strides]
    if p6:
        detect = build_p6_network(gb, L, ch, rep, classes, batch, grids)
    else:
        detect = build_p5_network(gb, L, ch, rep, classes, batch, grids)

    n_anchors = sum(gy * gx for gy, gx in grids) * detect.na
    graph = helper.make_graph(
        gb.nodes, "torch_jit",
        inputs=[helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, h, w])],
        outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                               [batch, n_anchors, classes + 5])])
    model = helper.make_model(
        graph, producer_name="sparrow-gen_yolov5",
        producer_version="1", opset_imports=[onnx.OperatorSetIdProto(version=opset)])
    gb.add_initializers(model.graph)  # after make_model, which copies the graph
    model.ir_version = ir_version_for_opset(opset)
    names = COCO_NAMES if classes == len(COCO_NAMES) else [f"class{i}" for i in range(classes)]
    helper.set_model_props(model, {"stride": str(max(strides)), "names": str(names)})
    return model


def count_parameters(model):
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", required=True, choices=sorted(SIZES, key="nsmlx".index))
    p.add_argument("--out", required=True, help="output .onnx file")
    p.add_argument("--image-size", type=int, nargs="+", default=None, metavar="N",
                   help="input size: N (square) or H W; multiples of 32, of 64 with --p6 "
                        "(default 640, 1280 with --p6)")
    p.add_argument("--p6", action="store_true",
                   help="the P6 variant (yolov5n6, s6...): four detection heads, strides 8 to 64")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--classes", type=int, default=80)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--opset", type=int, default=12)
    p.add_argument("--no-check", action="store_true", help="skip onnx.checker")
    args = p.parse_args(argv)
    if args.image_size is None:
        args.image_size = [1280 if args.p6 else 640]
    if len(args.image_size) == 1:
        args.image_size = args.image_size * 2
    elif len(args.image_size) != 2:
        p.error("--image-size takes one or two integers")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        model = build_model(args.size, tuple(args.image_size), args.batch,
                            args.classes, args.seed, args.opset, args.p6)
    except ValueError as e:
        print(f"gen_yolov5.py: error: {e}", file=sys.stderr)
        return 2
    if not args.no_check:
        onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(model, args.out)
    out_shape = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    print(f"{args.out}: yolov5{args.size}{'6' if args.p6 else ''}, {count_parameters(model):,} parameters, "
          f"{len(model.graph.node)} nodes, input {[args.batch, 3, *args.image_size]}, "
          f"output {out_shape}, opset {args.opset}, seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

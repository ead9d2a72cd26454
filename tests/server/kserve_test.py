#!/usr/bin/env python3
"""End-to-end tests of sparrow-server's KServe v2 / Open Inference Protocol gRPC service.

Starts the real server on a free port, talks to it through Python stubs generated from
proto/kserve/grpc_predict_v2.proto at start-up, and checks tensors against the `sparrow run` CLI
and detections against the reference figures in shared/reference.md.

Usage: kserve_test.py --server PATH --sparrow PATH --shared DIR [unittest options]
"""
import argparse
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import grpc
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_NAME = "yolov5n"
MAX_MESSAGE_BYTES = 32 << 20  # holds a batch-3 FP32 response (26 MB), not a batch-7 request
QUEUE_CAPACITY = 20
SIZE = 640

ARGS = None
pb = None          # generated grpc_predict_v2_pb2
stub = None        # GRPCInferenceServiceStub
SERVER = None      # ServerProcess
WORK = None        # temporary directory
REFERENCE = {}     # batch size -> (FP32 input, the CLI's output)


class ServerProcess:
    """sparrow-server as a subprocess; its stderr is read on a thread so the pipe never fills."""

    def __init__(self, args):
        self.lines = []
        self.listening = threading.Event()
        self.port = self.metrics_port = None
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"listening on \S+:(\d+) \(gRPC\), metrics on port (-?\d+)", line)
            if m:
                self.port, self.metrics_port = int(m.group(1)), int(m.group(2))
                self.listening.set()
        self.listening.set()

    def log(self):
        return "".join(self.lines[-20:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def generate_stubs(out_dir):
    subprocess.run(["protoc", "-I", os.path.join(REPO, "proto"), "--python_out", out_dir, "--grpc_out", out_dir,
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", "kserve/grpc_predict_v2.proto"],
                   check=True)
    sys.path.insert(0, out_dir)
    global pb
    from kserve import grpc_predict_v2_pb2, grpc_predict_v2_pb2_grpc
    pb = grpc_predict_v2_pb2
    return grpc_predict_v2_pb2_grpc


def model_path():
    return os.path.join(ARGS.shared, "models", "yolov5n.onnx")


def image_bytes(name):
    with open(os.path.join(ARGS.shared, "data", "images", name), "rb") as f:
        return f.read()


def letterboxed(n, seed):
    """n RGB NCHW uint8 images as the letterbox leaves them: grey 114 bars above and below a
    picture of gradients and flat rectangles (image-like values, not noise)."""
    rng = np.random.default_rng(seed)
    images = np.full((n, 3, SIZE, SIZE), 114, np.uint8)
    y, x = np.mgrid[0:480, 0:SIZE]
    for i in range(n):
        for c in range(3):
            gradient = x * rng.uniform(0.1, 0.4) + y * rng.uniform(0.1, 0.4) + rng.uniform(0, 255)
            images[i, c, 80:560] = (gradient % 256).astype(np.uint8)
        for _ in range(8):
            x0, y0 = rng.integers(0, SIZE - 120), rng.integers(80, 440)
            w, h = rng.integers(20, 120, size=2)
            images[i, :, y0:y0 + h, x0:x0 + w] = rng.integers(0, 256, size=(3, 1, 1))
    return images


def to_float(images):
    # The letterbox's scaling: a float32 multiply by 1/255.
    return images.astype(np.float32) * np.float32(1.0 / 255.0)


def cli_output(x, batch):
    """The engine's output for x, from `sparrow run` on an .npy file."""
    path = os.path.join(WORK, "x%d.npy" % batch)
    np.save(path, x)
    out = os.path.join(WORK, "out%d" % batch)
    subprocess.run([ARGS.sparrow, "run", model_path(), "-i", path, "-o", out, "-b", str(batch)], check=True,
                   stdout=subprocess.DEVNULL)
    return np.load(os.path.join(out, "output.npy"))


def tensor_request(array, datatype="FP32", name="images", raw=True, model=MODEL_NAME, shape=None):
    req = pb.ModelInferRequest(model_name=model, id="req-1")
    t = req.inputs.add(name=name, datatype=datatype, shape=list(array.shape if shape is None else shape))
    if raw:
        req.raw_input_contents.append(array.tobytes())
    elif datatype == "FP32":
        t.contents.fp32_contents.extend(array.ravel().tolist())
    else:
        t.contents.uint_contents.extend(array.ravel().tolist())
    return req


def length_prefixed(elements):
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def encoded_request(images, raw=True, shape=None, parameters=None, outputs=()):
    req = pb.ModelInferRequest(model_name=MODEL_NAME)
    t = req.inputs.add(name="encoded_images", datatype="BYTES", shape=shape or [len(images)])
    if raw:
        req.raw_input_contents.append(length_prefixed(images))
    else:
        t.contents.bytes_contents.extend(images)
    for key, value in (parameters or {}).items():
        p = req.parameters[key]
        if isinstance(value, bool):
            p.bool_param = value
        elif isinstance(value, int):
            p.int64_param = value
        elif isinstance(value, float):
            p.double_param = value
        else:
            p.string_param = value
    for name in outputs:
        req.outputs.add(name=name)
    return req


def output_array(response, name):
    """An output tensor as numpy, from raw_output_contents or typed contents."""
    for i, out in enumerate(response.outputs):
        if out.name != name:
            continue
        dtype = {"FP32": np.float32, "INT32": np.int32}[out.datatype]
        if response.raw_output_contents:
            data = np.frombuffer(response.raw_output_contents[i], dtype)
        elif out.datatype == "FP32":
            data = np.array(out.contents.fp32_contents, np.float32)
        else:
            data = np.array(out.contents.int_contents, np.int32)
        return data.reshape(list(out.shape))
    raise AssertionError("no output %r in %s" % (name, [o.name for o in response.outputs]))


class SharedMemory:
    """A POSIX shared memory object (a file in /dev/shm), created, filled and registered as a
    region; unregistered and removed on close."""
    count = 0

    def __init__(self, data, region_offset=0):
        SharedMemory.count += 1
        self.name = "kserve-test-%d-%d" % (os.getpid(), SharedMemory.count)
        self.key = "/" + self.name
        self.path = "/dev/shm/" + self.name
        with open(self.path, "wb") as f:
            f.write(data)
        self.registration = pb.SystemSharedMemoryRegisterRequest(name=self.name, key=self.key, offset=region_offset,
                                                                  byte_size=len(data) - region_offset)
        try:
            stub.SystemSharedMemoryRegister(self.registration)
        except grpc.RpcError:
            os.unlink(self.path)
            raise

    def input(self, request, offset, byte_size):
        """Points the request's only input at this region, in place of its contents."""
        del request.raw_input_contents[:]
        params = request.inputs[0].parameters
        params["shared_memory_region"].string_param = self.name
        params["shared_memory_offset"].int64_param = offset
        params["shared_memory_byte_size"].int64_param = byte_size
        return request

    def close(self):
        try:
            stub.SystemSharedMemoryUnregister(pb.SystemSharedMemoryUnregisterRequest(name=self.name))
        finally:  # even when the server is gone: never leave objects behind in /dev/shm
            os.unlink(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def metric(name, labels=""):
    """Sum of a metric's series whose labels contain every `key="value"` in `labels`."""
    url = "http://127.0.0.1:%d/metrics" % SERVER.metrics_port
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    wanted = [l for l in labels.split(",") if l]
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name and all(w in (m.group(2) or "") for w in wanted):
            total += float(m.group(3))
    return total


def wait_for(condition, seconds=10, interval=0.02):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def setUpModule():
    global stub, SERVER, WORK
    WORK = tempfile.mkdtemp(prefix="kserve_test_")
    # Module cleanups run even when setUpModule fails half-way (tearDownModule would not).
    unittest.addModuleCleanup(shutil.rmtree, WORK, ignore_errors=True)
    stubs = generate_stubs(WORK)
    # The references first, so that compiling them does not compete with the server for the cores.
    for batch, seed in ((1, 1), (3, 3)):
        x = to_float(letterboxed(batch, seed))
        REFERENCE[batch] = (x, cli_output(x, batch))
    SERVER = ServerProcess([ARGS.server, "--host", "127.0.0.1", "--port", "0", "--metrics-port", "-1",
                            "--model", model_path(), "--max-message-bytes", str(MAX_MESSAGE_BYTES),
                            "--queue-capacity", str(QUEUE_CAPACITY), "--allow-shared-memory",
                            # One inference lane: requests run one batch at a time, first in, first
                            # out, which the deadline test relies on.
                            "--num-cores", "1"])
    unittest.addModuleCleanup(SERVER.stop)
    if not SERVER.listening.wait(60) or SERVER.port is None:
        raise RuntimeError("the server did not start listening:\n" + SERVER.log())
    channel = grpc.insecure_channel("127.0.0.1:%d" % SERVER.port, options=[("grpc.max_send_message_length", -1),
                                                                          ("grpc.max_receive_message_length", -1)])
    stub = stubs.GRPCInferenceServiceStub(channel)

    def ready():
        if SERVER.proc.poll() is not None:
            raise RuntimeError("the server exited while loading:\n" + SERVER.log())
        try:
            return stub.ServerReady(pb.ServerReadyRequest(), timeout=5).ready
        except grpc.RpcError:
            return False
    if not wait_for(ready, 120, interval=0.1):
        raise RuntimeError("the server did not become ready:\n" + SERVER.log())


class KServeTest(unittest.TestCase):
    def assert_fails(self, code, pattern, request, **kwargs):
        with self.assertRaises(grpc.RpcError) as caught:
            stub.ModelInfer(request, **kwargs)
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        if pattern:
            self.assertRegex(caught.exception.details(), pattern)

    # --- health and metadata ---

    def test_server_live_ready_and_metadata(self):
        self.assertTrue(stub.ServerLive(pb.ServerLiveRequest()).live)
        self.assertTrue(stub.ServerReady(pb.ServerReadyRequest()).ready)
        meta = stub.ServerMetadata(pb.ServerMetadataRequest())
        self.assertEqual(meta.name, "sparrow")
        self.assertEqual(meta.version, "0.1.0")
        self.assertEqual(list(meta.extensions), ["system_shared_memory"])

    def test_model_ready(self):
        self.assertTrue(stub.ModelReady(pb.ModelReadyRequest(name=MODEL_NAME)).ready)
        self.assertTrue(stub.ModelReady(pb.ModelReadyRequest(name=MODEL_NAME, version="1")).ready)
        # As Triton: a model or version that is not served is not ready, without an error.
        self.assertFalse(stub.ModelReady(pb.ModelReadyRequest(name=MODEL_NAME, version="2")).ready)
        self.assertFalse(stub.ModelReady(pb.ModelReadyRequest(name="no-such-model")).ready)

    def test_model_metadata(self):
        meta = stub.ModelMetadata(pb.ModelMetadataRequest(name=MODEL_NAME))
        self.assertEqual((meta.name, list(meta.versions), meta.platform), (MODEL_NAME, ["1"], "sparrow_onnx"))
        inputs = {t.name: (t.datatype, list(t.shape)) for t in meta.inputs}
        outputs = {t.name: (t.datatype, list(t.shape)) for t in meta.outputs}
        self.assertEqual(inputs, {"images": ("FP32", [-1, 3, SIZE, SIZE]), "encoded_images": ("BYTES", [-1])})
        self.assertEqual(outputs, {"output": ("FP32", [-1, 25200, 85]), "detections": ("FP32", [-1, -1, 6]),
                                   "detection_counts": ("INT32", [-1])})

    def test_model_metadata_unknown_model_or_version(self):
        for request in (pb.ModelMetadataRequest(name="no-such-model"),
                        pb.ModelMetadataRequest(name=MODEL_NAME, version="7")):
            with self.assertRaises(grpc.RpcError) as caught:
                stub.ModelMetadata(request)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)

    # --- image tensors ---

    def check_matches_cli(self, batch):
        x, expected = REFERENCE[batch]
        response = stub.ModelInfer(tensor_request(x), timeout=60)
        self.assertEqual((response.model_name, response.model_version, response.id), (MODEL_NAME, "1", "req-1"))
        self.assertEqual(len(response.raw_output_contents), 1)  # raw in, raw out
        got = output_array(response, "output")
        self.assertEqual(got.shape, expected.shape)
        self.assertTrue(np.allclose(got, expected, rtol=1e-5, atol=1e-5),
                        "max difference %g" % np.abs(got - expected).max())

    def test_fp32_batch1_matches_engine(self):
        self.check_matches_cli(1)

    def test_fp32_batch3_matches_engine(self):
        self.check_matches_cli(3)

    def test_uint8_matches_engine(self):
        x, expected = REFERENCE[1]
        images = letterboxed(1, 1)
        np.testing.assert_array_equal(to_float(images), x)
        for raw in (True, False):
            response = stub.ModelInfer(tensor_request(images, "UINT8", raw=raw), timeout=60)
            got = output_array(response, "output")
            self.assertTrue(np.allclose(got, expected, rtol=1e-5, atol=1e-5), "raw=%s" % raw)

    def test_typed_fp32_answers_typed(self):
        x, expected = REFERENCE[1]
        response = stub.ModelInfer(tensor_request(x, raw=False), timeout=60)
        self.assertEqual(len(response.raw_output_contents), 0)
        self.assertTrue(np.allclose(output_array(response, "output"), expected, rtol=1e-5, atol=1e-5))

    # --- encoded images ---

    def check_bus(self, boxes, count):
        # shared/reference.md: bus.jpg at conf 0.25, IoU 0.45.
        golden = [(0, 219, 408, 349, 863), (0, 52, 399, 207, 895), (0, 681, 377, 810, 870), (5, 49, 237, 810, 772)]
        self.assertEqual(count, 4)
        found = sorted((int(r[5]), *r[:4]) for r in boxes[:count])
        for want, got in zip(sorted(golden), found):
            self.assertEqual(want[0], got[0])
            self.assertTrue(all(abs(a - b) <= 2 for a, b in zip(want[1:], got[1:])), "%s vs %s" % (want, got))

    def test_encoded_bus_returns_golden_detections(self):
        response = stub.ModelInfer(encoded_request([image_bytes("bus.jpg")]), timeout=60)
        self.assertEqual([o.name for o in response.outputs], ["detections", "detection_counts"])
        detections = output_array(response, "detections")
        counts = output_array(response, "detection_counts")
        self.assertEqual(detections.shape, (1, 4, 6))
        self.check_bus(detections[0], counts[0])

    def test_encoded_images_are_padded_to_the_longest(self):
        images = [image_bytes("zidane.jpg"), image_bytes("bus.jpg")]
        response = stub.ModelInfer(encoded_request(images, raw=False, shape=[2, 1]), timeout=60)
        self.assertEqual(len(response.raw_output_contents), 0)  # typed in, typed out
        detections = output_array(response, "detections")
        counts = output_array(response, "detection_counts")
        self.assertEqual(detections.shape, (2, 4, 6))
        self.assertEqual(list(counts), [3, 4])
        self.assertTrue(np.all(detections[0, 3] == 0))
        self.check_bus(detections[1], counts[1])

    def test_parameters_and_requested_outputs(self):
        bus = image_bytes("bus.jpg")
        response = stub.ModelInfer(encoded_request([bus], parameters={"conf_threshold": 0.7},
                                                   outputs=["detection_counts"]), timeout=60)
        self.assertEqual([o.name for o in response.outputs], ["detection_counts"])
        self.assertEqual(list(output_array(response, "detection_counts")), [2])  # persons at 0.82, 0.82
        response = stub.ModelInfer(encoded_request([bus], parameters={"max_det": 1, "classes": "5"}), timeout=60)
        self.assertEqual(output_array(response, "detections")[0, 0, 5], 5)  # the bus alone
        self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "conf_threshold",
                          encoded_request([bus], parameters={"conf_threshold": 1.5}))
        self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "max_det",
                          encoded_request([bus], parameters={"max_det": "many"}))
        self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "'output'.*only produced for 'images'",
                          encoded_request([bus], outputs=["output"]))

    # --- errors ---

    def test_invalid_tensors(self):
        x = REFERENCE[1][0]
        short = tensor_request(x)
        short.raw_input_contents[0] = x.tobytes()[:-4]
        bytes_as_fp32 = encoded_request([b"x"])
        bytes_as_fp32.inputs[0].datatype = "FP32"
        unknown_output = tensor_request(x)
        unknown_output.outputs.add(name="boxes")
        cases = [
            ("byte count", short, r"'images'.*raw_input_contents holds 4915196 bytes.*needs 4915200"),
            ("datatype", tensor_request(x.astype(np.int32), "INT32"), r"'images' has datatype 'INT32'"),
            ("shape", tensor_request(np.zeros((1, 3, 320, 320), np.float32)), r"'images' has shape \[1, 3, 320, 320\]"),
            ("rank", tensor_request(x[0]), r"'images' has shape \[3, 640, 640\]"),
            ("empty batch", tensor_request(np.zeros((0, 3, SIZE, SIZE), np.float32)), r"'images' has shape \[0,"),
            ("typed count", tensor_request(x, raw=False, shape=[2, 3, SIZE, SIZE]), r"fp32_contents holds 1228800"),
            ("uint8 range", tensor_request(np.full((1, 3, SIZE, SIZE), 256, np.uint32), "UINT8", raw=False),
             r"uint_contents\[0\] is 256"),
            ("bytes datatype", bytes_as_fp32, r"'encoded_images' has datatype 'FP32'"),
            ("no inputs", pb.ModelInferRequest(model_name=MODEL_NAME), r"no inputs"),
            ("unknown input", tensor_request(x, name="pixels"), r"unknown input 'pixels'"),
            ("unknown output", unknown_output, r"unknown output 'boxes'"),
        ]
        for what, request, pattern in cases:
            with self.subTest(what):
                self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, pattern, request)

    def test_invalid_input_combinations(self):
        x = REFERENCE[1][0]
        twice = tensor_request(x)
        twice.inputs.add(name="images", datatype="FP32", shape=[1, 3, SIZE, SIZE])
        twice.raw_input_contents.append(x.tobytes())
        both = tensor_request(x)
        both.inputs.add(name="encoded_images", datatype="BYTES", shape=[1])
        both.raw_input_contents.append(length_prefixed([b"x"]))
        mixed = tensor_request(x)
        mixed.inputs[0].contents.fp32_contents.append(1.0)
        missing_raw = tensor_request(x)
        del missing_raw.raw_input_contents[:]
        bad_prefix = encoded_request([image_bytes("bus.jpg")])
        bad_prefix.raw_input_contents[0] = bad_prefix.raw_input_contents[0][:-1]
        not_an_image = encoded_request([b"definitely not a JPEG"])
        cases = [
            ("same input twice", twice, r"more than one input named 'images'"),
            ("both inputs", both, r"one input, not both"),
            ("raw and typed", mixed, r"'images' sets contents while the request uses raw_input_contents"),
            ("no data", missing_raw, r"'images': contents.fp32_contents holds 0 values"),
            ("length prefixes", bad_prefix, r"'encoded_images': raw_input_contents is not a series"),
            ("bad image", not_an_image, r"image 0"),
        ]
        for what, request, pattern in cases:
            with self.subTest(what):
                self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, pattern, request)

    def test_unknown_model(self):
        self.assert_fails(grpc.StatusCode.NOT_FOUND, "no model named 'no-such-model'",
                          tensor_request(REFERENCE[1][0], model="no-such-model"))

    def test_client_text_is_echoed_clipped(self):
        # Whatever the client names, at any length, comes back clipped: a 10 KB model name made
        # grpcio fail on the size of the status's metadata instead of reporting NOT_FOUND.
        long = "n" * 10240
        unknown_model = tensor_request(REFERENCE[1][0], model=long)
        unknown_input = tensor_request(REFERENCE[1][0], name=long)
        many_dims = tensor_request(REFERENCE[1][0], shape=[1] * 5000)
        bad_value = encoded_request([b"x"], parameters={"conf_threshold": long})
        unknown_region = encoded_request([b"x"], raw=False)
        unknown_region.inputs[0].ClearField("contents")
        unknown_region.inputs[0].parameters["shared_memory_region"].string_param = long
        unknown_region.inputs[0].parameters["shared_memory_byte_size"].int64_param = 8
        cases = [
            ("model name", grpc.StatusCode.NOT_FOUND, unknown_model, r"nnn…' \(10240 bytes\)"),
            ("input name", grpc.StatusCode.INVALID_ARGUMENT, unknown_input, r"nnn…' \(10240 bytes\)"),
            ("shape", grpc.StatusCode.INVALID_ARGUMENT, many_dims, r"\[1, 1, 1, .*… \(15000 bytes\)"),
            ("parameter value", grpc.StatusCode.INVALID_ARGUMENT, bad_value, r"nnn…' \(10240 bytes\)"),
            ("region name", grpc.StatusCode.INVALID_ARGUMENT, unknown_region, r"nnn…' \(10240 bytes\)"),
        ]
        for what, code, request, pattern in cases:
            with self.subTest(what):
                self.assert_fails(code, pattern, request)
                with self.assertRaises(grpc.RpcError) as caught:
                    stub.ModelInfer(request)
                self.assertLess(len(caught.exception.details()), 400)
        with self.assertRaises(grpc.RpcError) as caught:
            stub.ModelMetadata(pb.ModelMetadataRequest(name=long))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND, caught.exception.details()[:200])
        self.assertLess(len(caught.exception.details()), 400)

    def test_message_over_limit_is_refused_by_grpc(self):
        self.assert_fails(grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max",
                          tensor_request(np.zeros((7, 3, SIZE, SIZE), np.float32)), timeout=60)

    def test_response_over_limit_is_refused_before_inference(self):
        # 4 UINT8 images are 5 MB in, but their outputs would be 34 MB out.
        items = metric("sparrow_inference_items_total")
        self.assert_fails(grpc.StatusCode.RESOURCE_EXHAUSTED, r"response to 4 items would be 34272000 bytes",
                          tensor_request(letterboxed(4, 4), "UINT8"))
        self.assertEqual(metric("sparrow_inference_items_total"), items)

    def test_more_items_than_the_queue_holds_are_invalid_not_retryable(self):
        # Such a request could never be queued, so it is not RESOURCE_EXHAUSTED ("retry later"),
        # and it gets the answer sparrow.v1's Detect gives: both services share the rule.
        items = metric("sparrow_inference_items_total")
        too_many = QUEUE_CAPACITY + 1
        tensor = tensor_request(np.zeros((too_many, 3, SIZE, SIZE), np.uint8), "UINT8")
        tensor.outputs.add(name="detections")  # a small response: only the item count is wrong
        for what, request in (("encoded images", encoded_request([b"x"] * too_many)), ("tensor", tensor)):
            with self.subTest(what):
                self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT,
                                  r"at most %d images .*this one has %d" % (QUEUE_CAPACITY, too_many), request)
        self.assertEqual(metric("sparrow_inference_items_total"), items)

    def test_expired_deadline_is_not_inferred(self):
        items = lambda: metric("sparrow_inference_items_total", 'model="yolov5n"')
        before = items()
        # Expired on arrival: a 15 MB request cannot arrive within 1 ms.
        self.assert_fails(grpc.StatusCode.DEADLINE_EXCEEDED, None, tensor_request(REFERENCE[3][0]), timeout=0.001)
        # Expired in the queue: two batches of 8 keep the one inference lane busy; once the first
        # has run, a request with a 100 ms deadline waits behind the second and is dropped unrun.
        batches = metric("sparrow_inference_batches_total")
        bus = image_bytes("bus.jpg")
        blockers = [stub.ModelInfer.future(encoded_request([bus] * 8), timeout=120) for _ in range(2)]
        self.assertTrue(wait_for(lambda: metric("sparrow_inference_batches_total") > batches, 60))
        self.assert_fails(grpc.StatusCode.DEADLINE_EXCEEDED, None, tensor_request(letterboxed(1, 1), "UINT8"),
                          timeout=0.1)
        for b in blockers:
            b.result()
        # The queue is first in, first out: had the expired items been queued to run, they would
        # have run before this one.
        stub.ModelInfer(encoded_request([bus]), timeout=60)
        self.assertEqual(items() - before, 2 * 8 + 1)

    # --- system shared memory (Triton's extension) ---

    def test_shared_memory_inputs_match_the_request_forms(self):
        x, expected = REFERENCE[3]
        images = letterboxed(1, 1)
        bus = image_bytes("bus.jpg")
        # The region starts 16 bytes into the object; each tensor sits at its own offset in it.
        data = b"\0" * 16 + x.tobytes() + images.tobytes() + length_prefixed([bus])
        with SharedMemory(data, region_offset=16) as shm:
            fp32 = shm.input(tensor_request(x), 0, x.nbytes)
            got = output_array(stub.ModelInfer(fp32, timeout=60), "output")
            self.assertTrue(np.allclose(got, expected, rtol=1e-5, atol=1e-5))
            uint8 = shm.input(tensor_request(images, "UINT8"), x.nbytes, images.nbytes)
            got = output_array(stub.ModelInfer(uint8, timeout=60), "output")
            self.assertTrue(np.allclose(got, REFERENCE[1][1], rtol=1e-5, atol=1e-5))
            encoded = shm.input(encoded_request([bus]), x.nbytes + images.nbytes, len(bus) + 4)
            from_memory = stub.ModelInfer(encoded, timeout=60)
            from_request = stub.ModelInfer(encoded_request([bus]), timeout=60)
            self.assertEqual(len(from_memory.raw_output_contents), 2)  # answered raw, as raw input is
            np.testing.assert_array_equal(output_array(from_memory, "detections"),
                                          output_array(from_request, "detections"))

    def test_shared_memory_status_and_unregister(self):
        with SharedMemory(b"\1" * 1000, region_offset=100) as shm:
            status = stub.SystemSharedMemoryStatus(pb.SystemSharedMemoryStatusRequest(name=shm.name))
            region = status.regions[shm.name]
            self.assertEqual((region.name, region.key, region.offset, region.byte_size), (shm.name, shm.key, 100, 900))
            everything = stub.SystemSharedMemoryStatus(pb.SystemSharedMemoryStatusRequest())
            self.assertIn(shm.name, everything.regions)
        with self.assertRaises(grpc.RpcError) as caught:
            stub.SystemSharedMemoryStatus(pb.SystemSharedMemoryStatusRequest(name=shm.name))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        images = letterboxed(1, 1)
        self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "no shared memory region named '%s'" % shm.name,
                          shm.input(tensor_request(images, "UINT8"), 0, images.nbytes))
        # Unregistering a name that is not registered is not an error (as Triton).
        stub.SystemSharedMemoryUnregister(pb.SystemSharedMemoryUnregisterRequest(name=shm.name))

    def test_shared_memory_registration_errors(self):
        def register_fails(code, pattern, **fields):
            with self.assertRaises(grpc.RpcError) as caught:
                stub.SystemSharedMemoryRegister(pb.SystemSharedMemoryRegisterRequest(**fields))
            self.assertEqual(caught.exception.code(), code, caught.exception.details())
            self.assertRegex(caught.exception.details(), pattern)
        register_fails(grpc.StatusCode.INVALID_ARGUMENT, "cannot open.*No such file", name="r", key="/no-such-key",
                       byte_size=10)
        with SharedMemory(b"\0" * 100) as shm:
            register_fails(grpc.StatusCode.INVALID_ARGUMENT, "does not fit in its object of 100 bytes", name="r2",
                           key=shm.key, offset=50, byte_size=51)
            register_fails(grpc.StatusCode.INVALID_ARGUMENT, "needs a name", key=shm.key, byte_size=10)
            register_fails(grpc.StatusCode.INVALID_ARGUMENT, "is empty", name="r3", key=shm.key)
            register_fails(grpc.StatusCode.ALREADY_EXISTS, "registered already", name=shm.name, key=shm.key,
                           byte_size=10)

    def test_shared_memory_request_errors(self):
        images = letterboxed(1, 1)
        with SharedMemory(images.tobytes()) as shm:
            def request(offset=0, byte_size=images.nbytes):
                return shm.input(tensor_request(images, "UINT8"), offset, byte_size)
            self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "shared_memory_byte_size holds 1000 bytes",
                              request(byte_size=1000))
            self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "run past the end", request(offset=1))
            both = request()
            both.raw_input_contents.append(images.tobytes())
            self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "must not also have", both)
            no_size = request()
            del no_size.inputs[0].parameters["shared_memory_byte_size"]
            self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT,
                              "'shared_memory_byte_size' of tensor 'images' is missing", no_size)
            wrong_type = request()
            wrong_type.inputs[0].parameters["shared_memory_region"].int64_param = 3
            self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "'shared_memory_region'.*must be a string", wrong_type)
            negative = request()
            negative.inputs[0].parameters["shared_memory_offset"].int64_param = -1
            self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "'shared_memory_offset'.*non-negative", negative)
            output = request()
            out = output.outputs.add(name="output")
            out.parameters["shared_memory_region"].string_param = shm.name
            out.parameters["shared_memory_byte_size"].int64_param = 100
            self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "outputs are only returned in the response", output)

    def test_truncated_shared_memory_is_an_error_not_a_crash(self):
        images = letterboxed(1, 1)
        bus = image_bytes("bus.jpg")
        for request, size in ((tensor_request(images, "UINT8"), images.nbytes),
                              (encoded_request([bus]), len(bus) + 4)):
            with SharedMemory(b"\7" * size) as shm:
                os.truncate(shm.path, 0)  # the owner shrinks the object after registering it
                self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "could not be read.*smaller than when it was",
                                  shm.input(request, 0, size), timeout=60)
        self.assertTrue(stub.ServerLive(pb.ServerLiveRequest()).live)

    def test_rpcs_are_counted_in_metrics(self):
        before = metric("sparrow_request_total", 'model="yolov5n",method="ModelInfer",status="INVALID_ARGUMENT"')
        self.assert_fails(grpc.StatusCode.INVALID_ARGUMENT, "no inputs", pb.ModelInferRequest(model_name=MODEL_NAME))
        self.assertTrue(wait_for(lambda: metric("sparrow_request_total",
                                                'model="yolov5n",method="ModelInfer",status="INVALID_ARGUMENT"') > before))
        self.assertGreater(metric("sparrow_request_total", 'method="ServerReady",status="OK"'), 0)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the sparrow-server binary")
    parser.add_argument("--sparrow", required=True, help="the sparrow CLI binary")
    parser.add_argument("--shared", required=True, help="the shared directory (models/, data/images/)")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()

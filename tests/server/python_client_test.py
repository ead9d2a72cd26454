#!/usr/bin/python3
"""The Python client (clients/python, package sparrow_client) against the real sparrow-server over
real gRPC channels: detections equal to the CLI's, several images and streams, benchmark figures,
models, health, error statuses, deadlines, TLS with client certificates, and SIGTERM.

Usage: python_client_test.py --server PATH_TO_sparrow-server --sparrow PATH_TO_sparrow
                             --shared SHARED_DIR --stubs DIR [unittest options, e.g. -k detect]
--stubs is a directory generate_stubs.sh wrote into (the build tree's clients/python).
Needs Debian's python3-grpcio and python3-protobuf (run with /usr/bin/python3).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

CLIENT_SOURCE = Path(__file__).resolve().parents[2] / "clients" / "python"

ARGS = None  # the parsed command line, set by main()
sc = None  # the sparrow_client module, imported by main() once sys.path is set


def clean_env():
    """The environment without SPARROW_* settings (a SPARROW_CONFIG or SPARROW_MODEL of the person
    running the tests must not change what the server or the CLI load)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPARROW_")}


class ServerProcess:
    """sparrow-server as a child process: `--port 0 --metrics-port -1` plus `args`, its port read
    from its log, SIGTERM and the exit status observed."""

    def __init__(self, *args):
        command = [ARGS.server, "--port", "0", "--metrics-port", "-1", *args]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env()
        )
        self.port = None
        self._lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self._listening.wait(60) or self.port is None:
            self.kill()
            raise RuntimeError("sparrow-server did not report its port:\n" + self.log())

    def _read_log(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            with self._lock:
                self._lines.append(line)
            m = re.search(r"listening on \S+:(\d+) \(gRPC\), metrics on port (-?\d+)", line)
            if m:
                self.port = int(m.group(1))
                self._listening.set()
        self._listening.set()  # exited before listening

    def log(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def running(self) -> bool:
        return self.proc.poll() is None

    def terminate(self, timeout: float):
        """SIGTERM, then the exit status; None (after SIGKILL) if it has not exited in time."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.running():
            self.proc.kill()
        self.proc.wait()


def shared(path: str) -> str:
    return os.path.join(ARGS.shared, path)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One server for every test but the TLS ones; ShutdownTest, run last, stops it.
SERVER = None


def setUpModule():
    global SERVER
    SERVER = ServerProcess("--model", shared("models/yolov5n.onnx"), "--max-batch-size", "4")


def tearDownModule():
    if SERVER is not None:
        SERVER.kill()


class ServerTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = f"127.0.0.1:{SERVER.port}"
        cls.client = sc.SparrowClient(cls.target, timeout=60)
        try:
            cls.client.wait_until_serving(120)
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{SERVER.log()}") from None
        cls.bus_path = shared("data/images/bus.jpg")
        cls.zidane_path = shared("data/images/zidane.jpg")
        cls.bus = read(cls.bus_path)
        cls.zidane = read(cls.zidane_path)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def assertSparrowError(self, code, call, *args, **kwargs) -> "sc.SparrowError":
        with self.assertRaises(sc.SparrowError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.code, code, str(caught.exception))
        return caught.exception

    def assertSameDetections(self, got, want, box_tolerance=0.05, score_tolerance=1e-4):
        self.assertEqual((got.width, got.height), (want.width, want.height))
        self.assertEqual(len(got.detections), len(want.detections), f"{got.detections} vs {want.detections}")
        for g, w in zip(got.detections, want.detections):
            self.assertEqual(g.class_id, w.class_id)
            self.assertEqual(g.class_name, w.class_name)
            self.assertAlmostEqual(g.score, w.score, delta=score_tolerance)
            for a, b in zip(g.box, w.box):
                self.assertAlmostEqual(a, b, delta=box_tolerance)


class PythonClientTest(ServerTestCase):
    def test_health_is_serving(self):
        self.assertEqual(self.client.health(), "SERVING")
        self.assertEqual(self.client.health("sparrow.v1.Detection"), "SERVING")
        self.assertSparrowError("NOT_FOUND", self.client.health, "no.such.Service")

    def test_detect_matches_the_cli(self):
        model = shared("models/yolov5n.onnx")
        cli = subprocess.run(
            [ARGS.sparrow, "detect", model, self.bus_path, "--json"],
            capture_output=True, text=True, timeout=120, env=clean_env(),
        )
        self.assertEqual(cli.returncode, 0, cli.stderr)
        want = json.loads(cli.stdout)[0]

        got = self.client.detect(self.bus_path)  # a file path
        self.assertEqual(len(got), 1)
        got = got[0]
        self.assertEqual((got.width, got.height), (want["width"], want["height"]))
        self.assertEqual(len(got.detections), len(want["detections"]), f"{got.detections}\nvs CLI {want['detections']}")
        self.assertEqual(sorted(d.class_name for d in got.detections), ["bus", "person", "person", "person"])
        for g, w in zip(got.detections, want["detections"]):
            self.assertEqual(g.class_name, w["class_name"])
            self.assertEqual(g.class_id, w["class_id"])
            self.assertAlmostEqual(g.score, w["score"], delta=1e-3)
            for a, b in zip(g.box, w["box"]):
                self.assertAlmostEqual(a, b, delta=0.5)
            self.assertEqual(set(g.to_dict()), set(w))  # the CLI's JSON shape
        self.assertGreater(got.timings.preprocess_ms, 0)
        self.assertGreater(got.timings.inference_ms, 0)
        self.assertGreaterEqual(got.timings.queue_ms, 0)
        self.assertEqual(got.to_numpy().shape, (4, 6))

    def test_two_images_in_one_request(self):
        both = self.client.detect([self.bus, self.zidane_path], request_id="pair")  # bytes and a path
        self.assertEqual(len(both), 2)
        self.assertEqual((both[0].width, both[0].height), (810, 1080))
        self.assertEqual((both[1].width, both[1].height), (1280, 720))
        self.assertEqual(len(both[0].detections), 4)
        self.assertEqual(sorted(d.class_name for d in both[1].detections), ["person", "person", "tie"])
        # The same as one image per request (the batch of two runs another engine: small tolerances).
        self.assertSameDetections(both[0], self.client.detect(self.bus)[0])
        with open(self.zidane_path, "rb") as f:  # a binary file
            self.assertSameDetections(both[1], self.client.detect(f)[0])
        try:
            import numpy as np
        except ImportError:
            return
        encoded = np.frombuffer(self.bus, dtype=np.uint8)  # as cv2.imencode returns it
        self.assertSameDetections(both[0], self.client.detect(encoded)[0])
        with self.assertRaises(TypeError):  # pixels, not an encoded image
            self.client.detect(np.zeros((8, 8, 3), dtype=np.uint8))

    def test_detect_options(self):
        people = self.client.detect(self.bus, classes=[0])[0].detections
        self.assertEqual([d.class_name for d in people], ["person"] * 3)
        self.assertEqual(len(self.client.detect(self.bus, max_det=1)[0].detections), 1)
        confident = self.client.detect(self.bus, conf=0.6)[0].detections
        self.assertTrue(confident and all(d.score >= 0.6 for d in confident), confident)
        self.assertLess(len(confident), 4)
        loose = self.client.detect(self.bus, conf=0.05, iou=0.7, agnostic=True)[0].detections
        self.assertGreater(len(loose), 4)

    def test_detect_stream_answers_in_order(self):
        frames = [(f"frame-{i}", self.bus if i % 2 == 0 else self.zidane_path) for i in range(12)]
        answers = list(self.client.detect_stream(frames))
        self.assertEqual([a.request_id for a in answers], [f"frame-{i}" for i in range(12)])
        for i, a in enumerate(answers):
            self.assertEqual(a.model, "yolov5n")
            self.assertEqual(len(a.results), 1)
            self.assertEqual(len(a.results[0].detections), 4 if i % 2 == 0 else 3, i)

        # Bare images get their index as request id; frames come from a generator; a frame may
        # hold several images.
        lazy = (image for image in [self.zidane, ("two", [self.bus, self.zidane]), self.bus_path])
        answers = list(self.client.detect_stream(lazy, classes=[0]))
        self.assertEqual([a.request_id for a in answers], ["0", "two", "2"])
        self.assertEqual([len(a.results) for a in answers], [1, 2, 1])
        self.assertEqual(len(answers[2].results[0].detections), 3)  # persons only

    def test_detect_stream_left_early_and_failures(self):
        endless = ((str(i), self.bus) for i in range(1000))
        start = time.monotonic()
        for answer in self.client.detect_stream(endless):
            self.assertEqual(answer.request_id, "0")
            break  # cancels the stream
        self.assertLess(time.monotonic() - start, 30)
        self.assertEqual(len(self.client.detect(self.bus)[0].detections), 4)

        # A frame the server rejects is answered with its error, in order, and the stream goes on.
        answers = list(self.client.detect_stream([self.bus, b"not an image", self.bus]))
        self.assertEqual([a.request_id for a in answers], ["0", "1", "2"])
        self.assertEqual([a.ok for a in answers], [True, False, True])
        self.assertIsInstance(answers[1].error, sc.SparrowError)
        self.assertEqual(answers[1].error.code, "INVALID_ARGUMENT", str(answers[1].error))
        self.assertIn("frame 1 (request_id '1'): image 0", answers[1].error.message)
        self.assertEqual(answers[1].results, [])
        self.assertEqual(len(answers[2].results[0].detections), 4)
        unknown = list(self.client.detect_stream([self.bus], model="no_such_model"))
        self.assertEqual([a.error.code for a in unknown], ["NOT_FOUND"])
        # A frame the client cannot read fails the stream, with the client's own exception.
        with self.assertRaises(FileNotFoundError):
            list(self.client.detect_stream([self.bus, "/nonexistent/frame.jpg", self.bus]))

    def test_benchmark_figures_are_consistent(self):
        r = self.client.benchmark(batch_size=2, seconds=1.5, warmup_seconds=0.3)
        cli_keys = [
            "engine", "model", "scenario", "batch_size", "num_cores", "num_streams", "isa", "iterations",
            "seconds_ran", "items_per_second", "ms_per_batch", "batch_times_mean", "batch_times_median",
            "batch_times_std", "p50", "p90", "p95", "p99", "p99_9", "kernels",
        ]
        for key in cli_keys:
            self.assertIn(key, r)
        self.assertEqual(r["engine"], "sparrow")
        self.assertEqual(r["model"], "yolov5n")
        self.assertEqual((r["batch_size"], r["num_streams"], r["scenario"]), (2, 1, "sync"))
        self.assertGreater(r["iterations"], 0)
        self.assertGreater(r["seconds_ran"], 1.0)
        # One stream: items/sec is the batch over the mean batch time (plus loop overhead).
        self.assertAlmostEqual(r["items_per_second"], 2 * 1000 / r["batch_times_mean"], delta=0.10 * r["items_per_second"])
        self.assertAlmostEqual(r["items_per_second"], 2 * 1000 / r["ms_per_batch"], delta=1e-3 * r["items_per_second"])
        self.assertLessEqual(r["p50"], r["p99"])
        self.assertTrue(r["p50"] <= r["p90"] <= r["p95"] <= r["p99"] <= r["p99_9"], r)
        self.assertGreater(r["num_cores"], 0)
        self.assertTrue(r["isa"])
        engine = r["engine_description"]
        self.assertGreater(engine["dense_layers"], 50)
        self.assertEqual(sum(r["kernels"].values()), engine["layers"])
        self.assertEqual(sum(engine["kernels"].values()), engine["layers"])
        json.dumps(r)  # exportable as is

        self.assertSparrowError("INVALID_ARGUMENT", self.client.benchmark, batch_size=-1)
        self.assertSparrowError("NOT_FOUND", self.client.benchmark, model="no_such_model")

    def test_models(self):
        models = self.client.models()
        self.assertEqual([m.name for m in models], ["yolov5n"])
        m = models[0]
        self.assertEqual(len(m.class_names), 80)
        self.assertEqual(m.class_names[0], "person")
        self.assertTrue(m.ready)
        self.assertEqual(m.max_batch_size, 4)
        self.assertEqual(m.batch_sizes, (1, 2, 4))
        self.assertEqual(m.input_shape, (4, 3, 640, 640))
        self.assertTrue(m.path.endswith("yolov5n.onnx"), m.path)
        self.assertGreater(m.engine["layers"], 50)
        self.assertEqual(self.client.model("yolov5n"), m)
        self.assertEqual(self.client.model(), m)  # the default model
        error = self.assertSparrowError("NOT_FOUND", self.client.model, "nope")
        self.assertIn("nope", error.message)

    def test_errors_have_clear_statuses(self):
        error = self.assertSparrowError("INVALID_ARGUMENT", self.client.detect, [self.bus, b"not an image at all"])
        self.assertIn("image 1", error.message)
        self.assertTrue(str(error).startswith("INVALID_ARGUMENT: "), str(error))
        self.assertEqual(error.status_code.name, "INVALID_ARGUMENT")

        error = self.assertSparrowError("NOT_FOUND", self.client.detect, self.bus, model="no_such_model")
        self.assertIn("no_such_model", error.message)
        # A name of any length is echoed clipped: a 10 KB one made grpcio fail on the size of the
        # status's metadata instead of reporting NOT_FOUND.
        for call in (lambda: self.client.detect(self.bus, model="m" * 10240), lambda: self.client.model("m" * 10240)):
            error = self.assertSparrowError("NOT_FOUND", call)
            self.assertIn("mmm…' (10240 bytes)", error.message)
            self.assertLess(len(error.message), 200)
        self.assertSparrowError("INVALID_ARGUMENT", self.client.detect, [])
        self.assertSparrowError("INVALID_ARGUMENT", self.client.detect, self.bus, conf=2.0)
        self.assertSparrowError("INVALID_ARGUMENT", self.client.detect, self.bus, max_det=0)

        # Mistakes caught before anything is sent.
        with self.assertRaises(FileNotFoundError):
            self.client.detect("/nonexistent/image.jpg")
        with self.assertRaises(TypeError):
            self.client.detect(42)
        with self.assertRaises(ValueError):
            sc.SparrowClient(self.target, private_key=b"key without a certificate chain")

    def test_expired_deadline(self):
        self.assertSparrowError("DEADLINE_EXCEEDED", self.client.detect, self.bus, timeout=0.000001)
        self.assertSparrowError("DEADLINE_EXCEEDED", self.client.detect, self.bus, timeout=-1)  # already past
        # The client's default deadline, already past: a 1 us one raced ListModels' instant answer.
        with sc.SparrowClient(self.target, timeout=-1) as hurried:
            self.assertSparrowError("DEADLINE_EXCEEDED", hurried.detect, self.bus)
            self.assertSparrowError("DEADLINE_EXCEEDED", hurried.models)
            self.assertEqual(hurried.health(timeout=10), "SERVING")  # a per-call timeout wins
        # A deadline shorter than the work: answered DEADLINE_EXCEEDED, and the server goes on.
        self.assertSparrowError("DEADLINE_EXCEEDED", self.client.detect, [self.bus] * 8, timeout=0.05)
        self.assertEqual(len(self.client.detect(self.bus)[0].detections), 4)

    def test_unreachable_server(self):
        with sc.SparrowClient(f"127.0.0.1:{free_port()}", timeout=10) as nobody:
            self.assertSparrowError("UNAVAILABLE", nobody.health)
            self.assertSparrowError("UNAVAILABLE", nobody.detect, self.bus)
            start = time.monotonic()
            with self.assertRaises(TimeoutError):
                nobody.wait_until_serving(0.5)
            self.assertLess(time.monotonic() - start, 5)


class TlsTest(ServerTestCase):
    """A second server with TLS that requires client certificates (one self-signed certificate is
    the server's, the client's and both CAs)."""

    def test_mutual_tls(self):
        if not shutil.which("openssl"):
            self.skipTest("openssl not installed")
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                check=True, capture_output=True, timeout=60,
            )
            server = ServerProcess("--model", shared("models/yolov5n.onnx"), "--max-batch-size", "1",
                                   "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", cert)
            try:
                target = f"localhost:{server.port}"
                with sc.SparrowClient(target, root_certificates=cert, private_key=key, certificate_chain=read(cert),
                                      timeout=30) as client:
                    client.wait_until_serving(120)
                    self.assertEqual(len(client.detect(self.bus)[0].detections), 4)
                with sc.SparrowClient(target, root_certificates=read(cert).decode(), timeout=10) as no_certificate:
                    self.assertSparrowError("UNAVAILABLE", no_certificate.health)
                with sc.SparrowClient(target, timeout=10) as plaintext:
                    self.assertSparrowError("UNAVAILABLE", plaintext.health)
                self.assertEqual(server.terminate(30), 0, server.log())
            finally:
                server.kill()


class ShutdownTest(ServerTestCase):
    """Stops the shared server: runs last."""

    def test_sigterm_exits_zero(self):
        self.assertEqual(self.client.health(), "SERVING")
        start = time.monotonic()
        code = SERVER.terminate(30)
        seconds = time.monotonic() - start
        self.assertEqual(code, 0, f"exit status {code} after {seconds:.1f} s\n{SERVER.log()}")
        self.assertLess(seconds, 30)
        self.assertIn("stopped", SERVER.log())
        self.assertSparrowError("UNAVAILABLE", self.client.health, timeout=5)


def load_tests(loader, standard_tests, pattern):
    """The shared server's tests, then TLS, then the shutdown of the shared server."""
    suite = unittest.TestSuite()
    for case in (PythonClientTest, TlsTest, ShutdownTest):
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite


def main():
    global ARGS, sc
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="the sparrow-server binary")
    parser.add_argument("--sparrow", required=True, help="the sparrow CLI binary")
    parser.add_argument("--shared", required=True, help="the shared directory (models/, data/images/)")
    parser.add_argument("--stubs", required=True, help="where generate_stubs.sh wrote sparrow_client/_generated")
    ARGS, rest = parser.parse_known_args()
    for path in (ARGS.server, ARGS.sparrow):
        if not os.access(path, os.X_OK):
            parser.error(f"'{path}' is not an executable")
    if not os.path.isdir(os.path.join(ARGS.stubs, "sparrow_client", "_generated")):
        parser.error(f"no generated stubs in '{ARGS.stubs}' (run clients/python/generate_stubs.sh {ARGS.stubs})")
    # The client from the source tree, its generated modules from --stubs (first on sys.path: they
    # win over any generated into the source tree).
    stubs = os.path.abspath(ARGS.stubs)
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path[:0] = [stubs, str(CLIENT_SOURCE)]
    import sparrow_client
    from sparrow_client import _stubs

    sc = sparrow_client
    if not _stubs.detection_pb2.__file__.startswith(stubs + os.sep):
        sys.exit(f"the generated modules come from {_stubs.detection_pb2.__file__}, not from --stubs {stubs}")
    if not sparrow_client.client.__file__.startswith(str(CLIENT_SOURCE) + os.sep):
        sys.exit(f"sparrow_client comes from {sparrow_client.client.__file__}, not from {CLIENT_SOURCE}")
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()

"""SparrowClient: sparrow.v1.Detection and grpc.health.v1 over one gRPC channel."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterable, Iterator, Sequence, Union

import grpc

from ._stubs import detection_pb2, detection_pb2_grpc, health_pb2, health_pb2_grpc
from .errors import SparrowError
from .results import (
    FrameResult,
    ImageResult,
    ModelInfo,
    benchmark_from_proto,
    frame_result_from_proto,
    image_result_from_proto,
    model_info_from_proto,
)

# An encoded image (JPEG, PNG, BMP, WebP): its bytes, a file path, a binary file object, or a 1-D
# buffer such as the uint8 numpy array cv2.imencode returns.
Image = Union[bytes, bytearray, memoryview, str, os.PathLike, Any]
# Certificates and keys: PEM bytes, PEM text, or a file path.
Pem = Union[bytes, str, os.PathLike, None]

_DEFAULT = object()  # "use the client's timeout"
_MAX_MESSAGE_BYTES = 64 << 20  # sparrow-server's default --max-message-bytes


def _buffer(image) -> memoryview | None:
    """The bytes of an object with the buffer protocol (a 1-D uint8 numpy array from
    cv2.imencode, an mmap), else None."""
    try:
        view = memoryview(image)
    except TypeError:
        return None
    if view.ndim != 1:
        raise TypeError(
            f"an image must be encoded (JPEG, PNG, BMP, WebP), not a {view.ndim}-D array of pixels: "
            "encode it first, e.g. cv2.imencode('.jpg', pixels)[1]"
        )
    return view


def _read_image(image: Image) -> bytes:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as f:
            return f.read()
    if callable(getattr(image, "read", None)):
        data = image.read()
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
    view = _buffer(image)
    if view is not None:
        return view.tobytes()
    raise TypeError(f"an image must be encoded bytes, a file path or a binary file, not {type(image).__name__}")


def _is_one_image(images) -> bool:
    if isinstance(images, (bytes, bytearray, memoryview, str, os.PathLike)) or callable(getattr(images, "read", None)):
        return True
    return not isinstance(images, (list, tuple)) and _buffer(images) is not None


def _read_images(images: Image | Sequence[Image]) -> list[bytes]:
    if _is_one_image(images):
        return [_read_image(images)]
    try:
        items = list(images)
    except TypeError:
        raise TypeError(
            f"images must be an image (encoded bytes, a file path or a binary file) or a list of them, "
            f"not {type(images).__name__}"
        ) from None
    return [_read_image(image) for image in items]


def _read_pem(pem: Pem) -> bytes | None:
    if pem is None:
        return None
    if isinstance(pem, (bytes, bytearray)):
        return bytes(pem)
    if isinstance(pem, str) and pem.lstrip().startswith("-----BEGIN"):
        return pem.encode()
    with open(pem, "rb") as f:
        return f.read()


def _detect_options(conf, iou, max_det, classes, agnostic) -> detection_pb2.DetectOptions:
    options = detection_pb2.DetectOptions(agnostic=bool(agnostic))
    if conf is not None:
        options.conf_threshold = float(conf)
    if iou is not None:
        options.iou_threshold = float(iou)
    if max_det is not None:
        options.max_det = int(max_det)
    if classes is not None:
        options.classes.extend([int(classes)] if isinstance(classes, int) else [int(c) for c in classes])
    return options


class SparrowClient:
    """A client of one sparrow-server.

    target: "host:port" (gRPC target syntax, so "dns:///host:port" and "unix:path" work too).
    tls: use TLS; implied when any of the PEM arguments is given. root_certificates is the CA
        that signed the server's certificate (None: the system's roots); private_key and
        certificate_chain are the client's own, for servers that require client certificates
        (sparrow-server --tls-client-ca). Each is PEM bytes, PEM text or a file path.
    timeout: default deadline in seconds of detect(), models(), model() and health() calls
        (None: no deadline); benchmark() and detect_stream() run as long as their arguments
        say, so they only take a deadline given to them. Every method accepts `timeout=`.
    max_message_bytes: largest message sent or received (the server has its own limit).
    options: further gRPC channel arguments, as (name, value) pairs; they override the client's
        own (message size limits, a reconnect backoff of at most one second).

    Failed calls raise SparrowError(code, message). Use as a context manager, or call close().
    """

    def __init__(
        self,
        target: str = "localhost:8001",
        *,
        tls: bool = False,
        root_certificates: Pem = None,
        private_key: Pem = None,
        certificate_chain: Pem = None,
        timeout: float | None = None,
        max_message_bytes: int = _MAX_MESSAGE_BYTES,
        options: Sequence[tuple[str, Any]] = (),
    ):
        if (private_key is None) != (certificate_chain is None):
            raise ValueError("private_key and certificate_chain go together (a client certificate for mutual TLS)")
        self.target = target
        self.timeout = timeout
        channel_options = {
            "grpc.max_send_message_length": max_message_bytes,
            "grpc.max_receive_message_length": max_message_bytes,
            # Reconnect within a second once a server comes up (wait_until_serving) instead of
            # gRPC's backoff that grows to two minutes.
            "grpc.initial_reconnect_backoff_ms": 200,
            "grpc.max_reconnect_backoff_ms": 1000,
        }
        channel_options.update(dict(options))
        channel_options = list(channel_options.items())
        if tls or root_certificates is not None or private_key is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_pem(root_certificates),
                private_key=_read_pem(private_key),
                certificate_chain=_read_pem(certificate_chain),
            )
            self._channel = grpc.secure_channel(target, credentials, options=channel_options)
        else:
            self._channel = grpc.insecure_channel(target, options=channel_options)
        self._detection = detection_pb2_grpc.DetectionStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    # -- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "SparrowClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SparrowClient({self.target!r})"

    @property
    def channel(self) -> grpc.Channel:
        """The underlying channel, e.g. for stubs of other services on the same server."""
        return self._channel

    def _timeout(self, timeout) -> float | None:
        return self.timeout if timeout is _DEFAULT else timeout

    @staticmethod
    def _call(method, request, timeout: float | None, **kwargs):
        try:
            return method(request, timeout=timeout, **kwargs)
        except grpc.RpcError as e:
            raise SparrowError.from_rpc_error(e) from None

    # -- detection --------------------------------------------------------------------------------

    def detect(
        self,
        images: Image | Sequence[Image],
        model: str = "",
        conf: float | None = None,
        iou: float | None = None,
        max_det: int | None = None,
        classes: Iterable[int] | int | None = None,
        agnostic: bool = False,
        *,
        request_id: str = "",
        timeout: float | None = _DEFAULT,
    ) -> list[ImageResult]:
        """Detects objects in encoded images (bytes, file paths or binary files; one or a list),
        sent in one request so that the server can batch them. Returns one ImageResult per image,
        in order. model "" is the server's default model; conf, iou and max_det left None take
        the model's defaults; classes keeps only those class ids; agnostic: class-agnostic NMS."""
        request = detection_pb2.DetectRequest(
            model=model,
            images=_read_images(images),
            options=_detect_options(conf, iou, max_det, classes, agnostic),
            request_id=request_id,
        )
        response = self._call(self._detection.Detect, request, self._timeout(timeout))
        return [image_result_from_proto(r) for r in response.results]

    def detect_stream(
        self,
        frames: Iterable[Image | tuple[str, Image | Sequence[Image]]],
        model: str = "",
        conf: float | None = None,
        iou: float | None = None,
        max_det: int | None = None,
        classes: Iterable[int] | int | None = None,
        agnostic: bool = False,
        *,
        timeout: float | None = None,
    ) -> Iterator[FrameResult]:
        """Sends frames over one DetectStream call and yields a FrameResult per frame, in order.

        A frame is an image (its request_id is then its index, "0", "1", ...) or a
        (request_id, image or list of images) pair. `frames` may be a generator (a camera, a
        directory being walked): it is read on a gRPC thread as the server takes frames in, and
        a failure reading it (a missing file) ends the stream and is raised here. The server
        works on a few frames at once and answers every frame, in order: a frame it rejects (an
        image that does not decode, an unknown model, a full queue) gets a FrameResult with
        `error` set, and the stream goes on. SparrowError is raised only when the stream itself
        fails (the server shutting down, a broken connection). Leaving the loop early cancels
        the stream."""
        options = _detect_options(conf, iou, max_det, classes, agnostic)
        failure: list[BaseException] = []
        call_box: list[Any] = []
        started = threading.Event()

        def requests():
            try:
                for index, frame in enumerate(frames):
                    if isinstance(frame, tuple):
                        if len(frame) != 2:
                            raise TypeError("a frame is an image or a (request_id, images) pair")
                        request_id, images = frame
                    else:
                        request_id, images = str(index), frame
                    yield detection_pb2.DetectRequest(
                        model=model, images=_read_images(images), options=options, request_id=str(request_id)
                    )
            except Exception as e:  # raised to the caller from the response loop
                failure.append(e)
                started.wait()
                call_box[0].cancel()

        call = self._detection.DetectStream(requests(), timeout=timeout)
        call_box.append(call)
        started.set()
        try:
            for response in call:
                yield frame_result_from_proto(response)
        except grpc.RpcError as e:
            if failure:
                raise failure[0] from None
            raise SparrowError.from_rpc_error(e) from None
        finally:
            call.cancel()  # nothing when the call is over; stops it when the caller left early
        if failure:
            raise failure[0]

    # -- benchmark and models ---------------------------------------------------------------------

    def benchmark(
        self,
        batch_size: int = 0,
        seconds: float = 10,
        iterations: int = 0,
        warmup_seconds: float = 2,
        num_streams: int = 1,
        *,
        model: str = "",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Runs the engine's throughput benchmark inside the server on random inputs.

        batch_size 0 is the model's batch size; iterations > 0 stops after that many batches
        instead of `seconds`; num_streams > 1 runs the async scenario. Returns a dict with the keys
        of `sparrow benchmark --export-json` (items_per_second, ms_per_batch, batch_times_mean,
        batch_times_median, batch_times_std, p50 ... p99_9 in ms per batch, engine, isa, kernels,
        ...) plus "engine_description", the server's description of the compiled engine."""
        request = detection_pb2.BenchmarkRequest(
            model=model,
            batch_size=batch_size,
            seconds=seconds,
            iterations=iterations,
            warmup_seconds=warmup_seconds,
            num_streams=num_streams,
        )
        return benchmark_from_proto(self._call(self._detection.Benchmark, request, timeout))

    def models(self, *, timeout: float | None = _DEFAULT) -> list[ModelInfo]:
        """Every model the server serves (none while it is still loading them)."""
        response = self._call(self._detection.ListModels, detection_pb2.ListModelsRequest(), self._timeout(timeout))
        return [model_info_from_proto(m) for m in response.models]

    def model(self, name: str = "", *, timeout: float | None = _DEFAULT) -> ModelInfo:
        """One model by name ("": the default model); SparrowError NOT_FOUND if there is none."""
        request = detection_pb2.GetModelRequest(name=name)
        return model_info_from_proto(self._call(self._detection.GetModel, request, self._timeout(timeout)))

    # -- health -----------------------------------------------------------------------------------

    def health(self, service: str = "", *, timeout: float | None = _DEFAULT) -> str:
        """grpc.health.v1 status of the server ("") or of one service ("sparrow.v1.Detection"):
        "SERVING", "NOT_SERVING" (loading models, or shutting down) or "UNKNOWN". A service the
        server does not know is SparrowError NOT_FOUND; an unreachable server UNAVAILABLE."""
        return self._health_check(service, self._timeout(timeout))

    def _health_check(self, service: str, timeout: float | None, **kwargs) -> str:
        request = health_pb2.HealthCheckRequest(service=service)
        response = self._call(self._health.Check, request, timeout, **kwargs)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def wait_until_serving(self, timeout: float = 60.0, service: str = "", poll_interval: float = 0.1) -> None:
        """Waits until health(service) is SERVING: the server may not be listening yet, or still
        loading its models. Raises TimeoutError, naming the last status seen, after `timeout` s."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.target} is not SERVING after {timeout:g} s (last: {last})")
            try:
                # wait_for_ready: while nothing listens yet, wait for a connection instead of failing.
                last = self._health_check(service, min(remaining, 1.0), wait_for_ready=True)
                if last == "SERVING":
                    return
            except SparrowError as e:
                last = str(e)
                if e.code == "NOT_FOUND":  # an unknown service will not appear
                    raise
            time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

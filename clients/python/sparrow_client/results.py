"""Plain Python results of sparrow.v1 calls, independent of the generated protobuf classes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from .errors import SparrowError


class Box(NamedTuple):
    """Corners in the original image's pixels."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float  # objectness x class score
    class_id: int
    class_name: str

    def to_dict(self) -> dict[str, Any]:
        """The shape of one detection in `sparrow detect --json`."""
        return {"box": list(self.box), "score": self.score, "class_id": self.class_id, "class_name": self.class_name}


@dataclass(frozen=True)
class Timings:
    """Milliseconds the server spent on one image."""

    preprocess_ms: float = 0.0  # decode + letterbox
    queue_ms: float = 0.0  # waiting for a batch
    inference_ms: float = 0.0  # the batch's engine run
    postprocess_ms: float = 0.0  # NMS and scaling back

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.queue_ms + self.inference_ms + self.postprocess_ms


@dataclass
class ImageResult:
    """Detections in one image, best score first."""

    width: int
    height: int
    detections: list[Detection] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)

    def to_dict(self) -> dict[str, Any]:
        """The shape of one image in `sparrow detect --json` (without its "image" key), plus timings."""
        return {
            "width": self.width,
            "height": self.height,
            "detections": [d.to_dict() for d in self.detections],
            "timings": asdict(self.timings),
        }

    def to_numpy(self):
        """An (N, 6) float32 array of x1, y1, x2, y2, score, class_id (needs numpy)."""
        import numpy as np

        rows = [(*d.box, d.score, d.class_id) for d in self.detections]
        return np.array(rows, dtype=np.float32).reshape(len(rows), 6)


@dataclass
class FrameResult:
    """The answer to one DetectStream request (one frame, usually one image). A frame the server
    could not process has `error` set (a SparrowError naming the frame) and no results."""

    request_id: str
    model: str
    results: list[ImageResult]
    error: SparrowError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ModelInfo:
    name: str
    input_shape: tuple[int, ...]  # N x 3 x H x W of the largest batch
    max_batch_size: int
    batch_sizes: tuple[int, ...]  # engines compiled for dynamic batching
    class_names: tuple[str, ...]
    ready: bool
    engine: dict[str, Any]  # EngineDescription: num_cores, isa, layers, ..., kernels
    path: str


# Conversions from the generated messages (duck-typed: no import of the generated modules here).


def box_from_proto(b) -> Box:
    return Box(b.x1, b.y1, b.x2, b.y2)


def image_result_from_proto(r) -> ImageResult:
    t = r.timings
    return ImageResult(
        width=r.width,
        height=r.height,
        detections=[Detection(box_from_proto(d.box), d.score, d.class_id, d.class_name) for d in r.detections],
        timings=Timings(t.preprocess_ms, t.queue_ms, t.inference_ms, t.postprocess_ms),
    )


def frame_result_from_proto(r) -> FrameResult:
    error = SparrowError.from_status(r.error.code, r.error.message) if r.HasField("error") else None
    return FrameResult(r.request_id, r.model, [image_result_from_proto(i) for i in r.results], error)


def engine_from_proto(e) -> dict[str, Any]:
    return {
        "num_cores": e.num_cores,
        "isa": e.isa,
        "layers": e.layers,
        "dense_layers": e.dense_layers,
        "sparse_layers": e.sparse_layers,
        "int8_layers": e.int8_layers,
        "reference_layers": e.reference_layers,
        "kernels": dict(sorted(e.kernels.items())),
    }


def model_info_from_proto(m) -> ModelInfo:
    return ModelInfo(
        name=m.name,
        input_shape=tuple(m.input_shape),
        max_batch_size=m.max_batch_size,
        batch_sizes=tuple(m.batch_sizes),
        class_names=tuple(m.class_names),
        ready=m.ready,
        engine=engine_from_proto(m.engine),
        path=m.path,
    )


def benchmark_from_proto(r) -> dict[str, Any]:
    """The field names and meanings of `sparrow benchmark --export-json`, so the two can be compared
    (benchmarks/compare.py reads the same keys). As there, "engine" is the engine's name and
    "kernels" counts layers per kernel family; the server's full EngineDescription is added as
    "engine_description"."""
    engine = engine_from_proto(r.engine)
    families: dict[str, int] = {}
    for kernel, layers in engine["kernels"].items():
        family = kernel.split(":", 1)[0]
        families[family] = families.get(family, 0) + layers
    return {
        "engine": "sparrow",
        "model": r.model,
        "scenario": r.scenario,
        "batch_size": r.batch_size,
        "num_cores": engine["num_cores"],
        "num_streams": r.num_streams,
        "isa": engine["isa"],
        "iterations": r.iterations,
        "seconds_ran": r.seconds_ran,
        "items_per_second": r.items_per_second,
        "ms_per_batch": r.ms_per_batch,
        "batch_times_mean": r.batch_times_mean,
        "batch_times_median": r.batch_times_median,
        "batch_times_std": r.batch_times_std,
        "p50": r.p50,
        "p90": r.p90,
        "p95": r.p95,
        "p99": r.p99,
        "p99_9": r.p99_9,
        "kernels": dict(sorted(families.items())),
        "engine_description": engine,
    }

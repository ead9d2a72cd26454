"""Python client of sparrow-server: YOLOv5 object detection over gRPC (sparrow.v1.Detection).

    from sparrow_client import SparrowClient

    with SparrowClient("localhost:8001") as client:
        for image in client.detect(["bus.jpg"]):
            for d in image.detections:
                print(d.class_name, d.score, d.box)

The generated protobuf/gRPC modules (sparrow_client._generated) are not part of the sources:
clients/python/generate_stubs.sh writes them, into this directory or into another directory on
sys.path (the build tree's clients/python), which is why the package path is extended below.
"""

import os as _os
import pkgutil as _pkgutil
import sys as _sys


def _in_sys_path_order(paths):
    """The package's directories ordered as their parents are on sys.path (others last)."""
    entries = [_os.path.abspath(entry or _os.curdir) for entry in _sys.path]

    def rank(path):
        parent = _os.path.dirname(_os.path.abspath(path))
        return entries.index(parent) if parent in entries else len(entries)

    return sorted(paths, key=rank)


# Lets sparrow_client._generated live in another `sparrow_client` directory on sys.path (the
# build tree's clients/python); when several have it, the first on sys.path wins.
__path__ = _in_sys_path_order(_pkgutil.extend_path(__path__, __name__))

from .errors import SparrowError  # noqa: E402
from .results import Box, Detection, FrameResult, ImageResult, ModelInfo, Timings  # noqa: E402
from .client import SparrowClient  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Box",
    "Detection",
    "FrameResult",
    "ImageResult",
    "ModelInfo",
    "SparrowClient",
    "SparrowError",
    "Timings",
]

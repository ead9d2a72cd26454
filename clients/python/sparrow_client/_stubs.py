"""The generated protobuf/gRPC modules, with a clear message when they have not been generated."""

try:
    from ._generated.grpc.health.v1 import health_pb2, health_pb2_grpc
    from ._generated.sparrow.v1 import detection_pb2, detection_pb2_grpc
except ModuleNotFoundError as e:
    if not (e.name or "").startswith(__package__ + "._generated"):
        raise
    raise ImportError(
        "sparrow_client's generated gRPC modules are missing. Generate them with "
        "`clients/python/generate_stubs.sh clients/python`, or put a directory they were generated "
        "into (the build tree's clients/python, made by cmake) on PYTHONPATH next to clients/python."
    ) from e

__all__ = ["detection_pb2", "detection_pb2_grpc", "health_pb2", "health_pb2_grpc"]

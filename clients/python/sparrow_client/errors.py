"""The one exception type the client raises for failed calls."""

from __future__ import annotations

import grpc


class SparrowError(Exception):
    """A call that sparrow-server (or gRPC on the way to it) answered with an error status.

    code:    the gRPC status code's name, e.g. "INVALID_ARGUMENT", "NOT_FOUND", "UNAVAILABLE",
             "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"
    message: the status details, e.g. "image 1: not a JPEG, PNG, BMP or WebP image"
    """

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message

    @property
    def status_code(self) -> grpc.StatusCode | None:
        """The code as a grpc.StatusCode (None for a name gRPC does not know)."""
        return grpc.StatusCode.__members__.get(self.code)

    def __reduce__(self):
        return (type(self), (self.code, self.message))

    @classmethod
    def from_status(cls, code: int, message: str) -> "SparrowError":
        """From a numeric gRPC status code and message, as a DetectStream frame's error holds them."""
        name = next((c.name for c in grpc.StatusCode if c.value[0] == code), f"CODE_{code}")
        return cls(name, message)

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "SparrowError":
        code = error.code() if callable(getattr(error, "code", None)) else None
        details = error.details() if callable(getattr(error, "details", None)) else None
        name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
        return cls(name, details if details is not None else str(error))

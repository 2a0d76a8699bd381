"""Local ports for the servers the program starts, and waiting for them to listen."""

from __future__ import annotations

import contextlib
import socket
import time


class EmbeddedError(RuntimeError):
    """A server the program starts itself could not be started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise EmbeddedError(f"nothing listens on {host}:{port} after {timeout:.0f} s")

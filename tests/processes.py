"""Child processes for the end-to-end tests and the bench scripts: ``python -m django ...`` (or
any command) started in the repository root with its output in a log file, stopped politely,
and waited for until it accepts connections on a loopback port.

A plain module (no pytest, no Django import): the bench scripts use it too.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(AssertionError):
    """A child server exited, or did not accept connections in time; the message is its log."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(
    command: Sequence[str], *, env: Mapping[str, str], log: Path, cwd: Path = REPO_ROOT
) -> subprocess.Popen[bytes]:
    """``command`` in ``cwd``, its stdout and stderr written to ``log`` (truncated first)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )


def start_django(
    args: Sequence[str], *, env: Mapping[str, str], log: Path, cwd: Path = REPO_ROOT
) -> subprocess.Popen[bytes]:
    """``django-admin <args>`` (as ``python -m django``) with this interpreter."""
    return start_process([sys.executable, "-m", "django", *args], env=env, log=log, cwd=cwd)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0
) -> None:
    """Wait until something accepts connections on loopback ``port``; :class:`ChildFailed`
    (with ``log``'s text) if ``process`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise ChildFailed(log.read_text()) from None
            time.sleep(0.2)

"""Waiting for a server that a test started in a subprocess."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path


def wait_until_serving(url: str, proc: subprocess.Popen[bytes], log: Path,
                       seconds: float) -> None:
    """Return once `url` answers; raise with the server's log if the process ended or
    `seconds` passed first."""
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the server at {url} did not start:\n"
                                   + log.read_text()) from None
            time.sleep(0.5)

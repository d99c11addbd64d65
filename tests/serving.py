"""A server that a test starts in a subprocess: started, waited for, always stopped."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(cmd: Sequence[str], url: str, log: Path, cwd: Path, env: Mapping[str, str],
            seconds: float) -> Iterator[str]:
    """Run `cmd` (output to `log`) until `url` answers, yield the url, then stop it.
    Raises with the server's log if it ends or `seconds` pass before it answers."""
    with log.open("w") as out:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + seconds
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        raise RuntimeError(f"the server at {url} did not start:\n"
                                           + log.read_text()) from None
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

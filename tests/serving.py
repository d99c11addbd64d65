"""A server that a test starts in a subprocess: started, waited for, always stopped."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(cmd: Sequence[str], url: str, log: Path, cwd: Path, env: Mapping[str, str],
            seconds: float) -> Iterator[str]:
    """Run `cmd` (output to `log`) until `url` answers and, for a newsqa server, its
    /api/health says it is ready (models loaded); yield the url, then stop it. Raises with
    the server's log if it ends or `seconds` pass before that."""
    with log.open("w") as out:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + seconds
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    if _ready(url):
                        break
                except OSError:
                    pass
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


def _ready(url: str) -> bool:
    """Whether the server at `url` says it is ready (a server without /api/health, or one
    that does not say, is taken as ready once it answers)."""
    parts = urllib.parse.urlsplit(url)
    try:
        with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/api/health",
                                    timeout=2) as r:
            return json.loads(r.read()).get("ready", True) is not False
    except (OSError, ValueError):
        return True

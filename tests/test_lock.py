"""The data home's writer lock: one writer, the waiter told whom it waits for."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from index.errors import WriterBusy
from index.lock import Holder, WriterLock


def test_second_writer_waits_and_is_told_who_holds_the_lock(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "home", poll_seconds=0.05)
    assert lock.holder() is None
    told: list[Holder] = []
    order: list[str] = []
    with lock.hold("ingest"):
        holder = lock.holder()
        assert holder is not None and holder.pid == os.getpid() and holder.what == "ingest"
        with lock.hold("ingest"):  # reentrant in the holding thread
            pass

        def second() -> None:
            with WriterLock(tmp_path / "home", poll_seconds=0.05).hold(
                    "upload", on_wait=told.append):
                order.append("second")

        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.4)
        order.append("first done")
    t.join(timeout=10)
    assert order == ["first done", "second"]
    assert len(told) == 1 and told[0].pid == os.getpid()
    assert "another ingest is running (pid" in told[0].describe()
    assert lock.holder() is None


def test_no_wait_and_timeout_raise_writer_busy(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "home", poll_seconds=0.05)
    errors: list[str] = []

    def other(**kwargs: object) -> None:
        try:
            with WriterLock(tmp_path / "home", poll_seconds=0.05).hold("removal", **kwargs):
                errors.append("acquired")
        except WriterBusy as exc:
            errors.append(str(exc))

    with lock.hold("ingest"):
        for kwargs in ({"wait": False}, {"timeout": 0.2}):
            t = threading.Thread(target=other, kwargs=kwargs)
            t.start()
            t.join(timeout=10)
    assert len(errors) == 2 and all(f"pid {os.getpid()}" in e for e in errors)
    assert "--no-wait" in errors[0] and "gave up after 0.2s" in errors[1]
    assert "acquired" not in errors

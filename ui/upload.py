"""Files uploaded in the chat: checked by type and size, then kept under the data home
as `<content hash>-<safe name>` (two files of one name never replace each other).
Never executed and never served back."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import unicodedata
import zlib
from pathlib import Path

from index.lock import Holder
from index.parse import SUPPORTED, file_type, is_supported
from ui import render
from ui.jobs import Job

MB = 1024 * 1024


def safe_filename(name: str) -> str:
    """A plain file name: no folders, no leading dots, only letters (of any script),
    digits, . _ - ; at most 120 bytes, keeping the end (the extension)."""
    base = Path(unicodedata.normalize("NFC", name).replace("\\", "/")).name
    base = re.sub(r"[^\w.-]+", "_", base).lstrip("._")
    while len(base.encode("utf-8")) > 120:
        base = base[1:]
    return base or "upload.txt"


def stored_name(src: Path, name: str) -> str:
    """Where an upload is kept: its content hash before its safe name, so two different
    files called `news.jsonl` (two users, or two days) never replace each other, while the
    same file uploaded twice is stored (and indexed) once."""
    digest = hashlib.sha256()
    with src.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"{digest.hexdigest()[:12]}-{name}"


def check_upload(path: Path, name: str, max_mb: float,
                 max_unpacked_mb: float = 200.0) -> str | None:
    """Why an uploaded file is refused (type, size, size once decompressed), or None if
    it is accepted. A .gz is decompressed in a stream to count its bytes, never held."""
    if not is_supported(Path(name)):
        kind = file_type(Path(name)) or "without extension"
        return (f"{kind} files are not accepted; upload article files: "
                f"{', '.join(SUPPORTED)} (or .gz of these)")
    size = path.stat().st_size
    if size > max_mb * MB:
        return (f"the file is {size / MB:.1f} MB, over the {max_mb:g} MB limit "
                "(NEWSQA_SERVE__MAX_UPLOAD_MB)")
    if size == 0:
        return "the file is empty"
    if name.lower().endswith(".gz") and _unpacked_over(path, int(max_unpacked_mb * MB)):
        return (f"the file is over {max_unpacked_mb:g} MB once decompressed "
                "(NEWSQA_SERVE__MAX_UPLOAD_UNPACKED_MB); split it into smaller files")
    return None


def _unpacked_over(path: Path, limit: int) -> bool:
    """Whether a gzip file decompresses to more than `limit` bytes (a broken one is left
    to ingest, which keeps its complete records and names the break)."""
    total = 0
    try:
        with gzip.open(path, "rb") as f:
            while block := f.read(1 << 20):
                total += len(block)
                if total > limit:
                    return True
    except (OSError, EOFError, zlib.error):
        return False
    return False


def accept_upload(src: Path, uploads: Path, max_mb: float,
                  max_unpacked_mb: float = 200.0) -> tuple[str, Path | None, str]:
    """Check one uploaded file and move it to `uploads` under a safe name. Returns (name,
    saved path or None if refused, message). The uploaded temporary file is always
    deleted, so nothing stays where Gradio could serve it back."""
    name = safe_filename(src.name)
    try:
        reason = check_upload(src, name, max_mb, max_unpacked_mb)
        if reason is not None:
            return name, None, f"✗ **{render.md_escape(name)}** rejected: {reason}."
        uploads.mkdir(parents=True, exist_ok=True)
        dest = uploads / stored_name(src, name)
        if not dest.exists():
            tmp = dest.with_name(f".{dest.name}.part")
            shutil.copyfile(src, tmp)  # plain bytes: no execute bit; never served or run
            os.replace(tmp, dest)
        return name, dest, f"**{render.md_escape(name)}** saved"
    except OSError as exc:
        return (name, None,
                f"✗ **{render.md_escape(name)}** could not be saved: {exc.strerror or exc}.")
    finally:
        src.unlink(missing_ok=True)


def job_markdown(job: Job, holder: Holder | None = None) -> str:
    """One upload's job as a chat status line: queued (and for which writer it waits),
    indexing (with counts), or what it did."""
    shown = render.md_escape(job.name)
    if job.state == "queued":
        waiting = f" Waiting: {render.md_escape(holder.describe())}." if holder else ""
        return f"⏳ **{shown}**: queued for indexing…{waiting}"
    if job.state == "running":
        counts = (f" {job.articles_done}/{job.articles_total} article(s), "
                  f"{job.chunks_embedded} chunk(s) embedded" if job.articles_total else "")
        return f"⏳ **{shown}**: indexing…{counts}"
    problems = "; ".join(e.split(": ", 1)[-1] for e in job.errors)
    if job.state == "failed":
        return f"✗ **{shown}**: {render.md_escape(problems or 'indexing failed')}"
    return (f"{'✓' if job.articles_total else '✗'} **{shown}**: {job.articles_total} "
            f"article(s) read, {job.added} added, {job.updated} updated, {job.unchanged} "
            f"unchanged; {job.chunks_embedded} chunk(s) embedded"
            + (f". Problems: {render.md_escape(problems)}" if problems else "."))

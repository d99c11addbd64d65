"""Reading a request's body within its limits (the JSON API's routes share it): the
content type checked first, and the body refused with 413 as soon as it is over the
limit, before it is all read, so a huge upload never fills memory."""

from __future__ import annotations

from fastapi import Request

from ui.api_model import ApiError

MB = 1024 * 1024


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, max_mb: float, types: tuple[str, ...]) -> bytes:
    """The request body, refused with 415 for another content type and with 413 as soon
    as it is over `max_mb` (before it is all read)."""
    kind = content_type(request)
    if kind not in types:
        raise ApiError(415, f"content type {kind or '(none)'!r} is not accepted here; send "
                       + " or ".join(types) + " (e.g. curl -H 'Content-Type: "
                       f"{types[0]}')")
    limit = int(max_mb * MB)
    too_big = ApiError(413, f"the body is over the {max_mb:g} MB limit "
                       "(NEWSQA_SERVE__MAX_BODY_MB); send it in smaller batches "
                       "(`newsqa push --batch N`)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)

"""Gradio's own routes, refused by role: the chat hides *Add articles* from a reader, and
this makes the server refuse it too. Gradio's upload route (`/gradio_api/upload`, where
the browser sends a file before the upload event names it) answers 403 to a reader's
session; the upload and remove events check the role in their handlers (`ui.chat`, with
`user_of` and `not_an_editor` here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ui import render
from ui.auth import Access

UPLOAD_ROUTE = "/gradio_api/upload"  # gradio 6 (routes.py: router.post("/upload"))


def session_user(app: Any, cookies: Mapping[str, str]) -> str | None:
    """The chat user whose Gradio login cookie this is (Gradio keeps its sessions in
    `app.tokens`, keyed by the `access-token-<id>` cookie), or None."""
    cookie_id = getattr(app, "cookie_id", None)
    tokens = getattr(app, "tokens", None)
    if cookie_id is None or tokens is None:
        return None
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
        f"access-token-unsecure-{cookie_id}")
    user = tokens.get(token) if token is not None else None
    return str(user) if user is not None else None


def user_of(request: Any) -> str | None:
    """The logged-in user of a Gradio event's `gr.Request` (None: none, or no login)."""
    return getattr(request, "username", None) if request is not None else None


def not_an_editor(user: str | None, what: str) -> str:
    """The chat's answer to a reader's upload or removal (refused on the server)."""
    who = f"**{render.md_escape(user)}** is a reader" if user else "You are not logged in"
    return (f"✗ {who}: readers may ask and read, not {what}. Ask an editor, or the server's "
            "operator for the editor role.")


class EditorsUpload:
    """ASGI middleware on Gradio's app: a logged-in reader's POST to the upload route gets
    403 `{"error": ...}` before Gradio stores the file. Without a login Gradio's own check
    answers 401; with auth off everyone is an editor."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.access.on and scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"].rstrip("/").endswith(UPLOAD_ROUTE)):
            from starlette.requests import Request

            user = session_user(scope.get("app"), Request(scope).cookies)
            if user is not None and not self.access.may_edit(user):
                refused = JSONResponse(status_code=403, content={
                    "error": f"{user!r} is a reader: readers may ask and read but not add "
                             "articles; ask an editor to upload them, or for the editor "
                             "role (`newsqa users add NAME --role editor`)"})
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

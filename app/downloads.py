"""A file sent to the browser to keep: the one place that writes `Content-Disposition`.

Werkzeug quotes the name as the header needs (and adds the RFC 6266 `filename*` form for a
name that is not ASCII), so every download names its file the same way."""

from __future__ import annotations

from flask import Response


def named_file(
    body: bytes | str, mimetype: str, filename: str, *, inline: bool = False
) -> Response:
    """`body` as a file named `filename`: saved (attachment) or shown in the browser (inline,
    the commune brief's PDF)."""
    response = Response(body, mimetype=mimetype)
    response.headers.set(
        "Content-Disposition", "inline" if inline else "attachment", filename=filename
    )
    return response

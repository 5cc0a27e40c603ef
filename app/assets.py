"""How files and pages travel to a phone on a slow connection: the one home of caching.

- Static files (ours and Bootstrap-Flask's) are linked with their content's hash in the
  address (`url_for('static', filename=…)` gains `?v=<hash>`, by a `url_defaults` hook, so no
  template changes), and served from memory with that hash as ETag. Under the current hash they
  are cached for a year (`public, max-age=31536000, immutable`): a change gives a new address.
  Any other address of the same file (no `v`, an old one) is `no-cache`.
- Text assets are compressed here once per process and file (brotli when the client asks,
  else gzip) rather than on every request; Flask-Compress leaves a response alone once it has
  a Content-Encoding, and compresses the pages and JSON (`COMPRESS_*` in app/config.py).
- HTML pages are `no-cache` (`private` for a signed-in person) with an ETag of their body, so
  a phone that has the page gets a 304 instead of it.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from functools import lru_cache
from pathlib import Path

import brotli
from flask import Flask, Response, abort, request
from flask_login import current_user
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
# Text types worth compressing; images (the favicon is SVG: text) and fonts as they are.
COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")
ENCODINGS = ("br", "gzip")
VERSIONED_ENDPOINTS = ("static", "bootstrap.static")


@lru_cache(maxsize=256)
def _read(path: str, stamp: tuple[int, int]) -> tuple[bytes, str]:
    """A file's bytes and the first 16 hex digits of their SHA-256; `stamp` (mtime, size) makes
    an edited file read again (development)."""
    data = Path(path).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


@lru_cache(maxsize=256)
def _encoded(path: str, stamp: tuple[int, int], encoding: str) -> bytes:
    data, _ = _read(path, stamp)
    if encoding == "br":
        return bytes(brotli.compress(data, quality=9))
    return gzip.compress(data, compresslevel=9, mtime=0)


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if os.path.isfile(path) else None


def _folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    blueprint = app.blueprints.get(endpoint.partition(".")[0])
    return blueprint.static_folder if blueprint is not None else None


def file_version(folder: str, filename: str) -> str | None:
    """The hash that versions `filename`'s address, or None when there is no such file."""
    path = safe_join(folder, filename)
    stamp = _stamp(path) if path else None
    return _read(path, stamp)[1] if path and stamp else None


def send_asset(path: str, mimetype: str, version: str | None = None) -> Response:
    """`path` from memory: compressed as the client asks, ETag of its content (and encoding),
    cached for a year when `version` says the address names this content, else `no-cache`."""
    stamp = _stamp(path)
    if stamp is None:
        abort(404)
    data, digest = _read(path, stamp)
    encoding = None
    if mimetype.startswith(COMPRESSIBLE) and len(data) >= 500:
        encoding = request.accept_encodings.best_match(ENCODINGS)
    response = Response(_encoded(path, stamp, encoding) if encoding else data, mimetype=mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.set_etag(f"{digest}-{encoding}" if encoding else digest)
    if version is not None:
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response.make_conditional(request)


def _static_view(app: Flask, endpoint: str):  # type: ignore[no-untyped-def]
    def serve(filename: str) -> Response:
        folder = _folder(app, endpoint)
        path = safe_join(folder, filename) if folder else None
        if path is None or _stamp(path) is None:
            abort(404)
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if filename.endswith(".js"):
            mimetype = "text/javascript"
        asked = request.args.get("v")
        current = file_version(folder, filename)  # type: ignore[arg-type]
        return send_asset(path, mimetype, version=current if asked == current else None)

    return serve


def init_app(app: Flask) -> None:
    for endpoint in VERSIONED_ENDPOINTS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = _static_view(app, endpoint)

    @app.url_defaults
    def _versioned(endpoint: str, values: dict[str, object]) -> None:
        if endpoint not in VERSIONED_ENDPOINTS or "v" in values:
            return
        folder = _folder(app, endpoint)
        filename = values.get("filename")
        if folder and isinstance(filename, str):
            version = file_version(folder, filename)
            if version is not None:
                values["v"] = version

    @app.after_request
    def _pages(response: Response) -> Response:
        """HTML pages: revalidated on every visit, a 304 when the body has not changed."""
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and response.mimetype == "text/html"
            and not response.is_streamed
            and not response.direct_passthrough
        ):
            if "Cache-Control" not in response.headers:
                response.cache_control.no_cache = True
                if current_user.is_authenticated:
                    response.cache_control.private = True
            if not response.get_etag()[0]:
                response.add_etag()
            response.make_conditional(request)
        return response

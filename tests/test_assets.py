"""Issue 15, "light and cached": compressed pages and files, static files under versioned
addresses cached for a year, HTML revalidated with ETags, a purged Bootstrap that keeps every
class the templates use, a vendored plotly bundle that matches its pin, and downloads that
still arrive whole."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import re
from pathlib import Path

import brotli
import flask_bootstrap
import pytest
from openpyxl import load_workbook

from app.plotly_assets import plotly_js, plotly_version
from tests.test_analytics import survey  # noqa: F401  (the fixed data set)

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "app" / "static"
TEMPLATES = ROOT / "app" / "templates"
FULL_BOOTSTRAP = (
    Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5" / "css" / "bootstrap.min.css"
)
PURGED = STATIC / "css" / "bootstrap.purged.css"
YEAR = 365 * 24 * 3600


def decode(response) -> bytes:  # type: ignore[no-untyped-def]
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return bytes(brotli.decompress(response.data))
    if encoding == "gzip":
        return gzip.decompress(response.data)
    assert encoding is None, encoding
    return response.data


def linked(page: str) -> list[str]:
    """The stylesheets and scripts a page links to, as written in it (plotly.js is named by
    charts.js's data-plotly: fetched when a chart comes near the screen)."""
    found = re.findall(r'<link rel="stylesheet"[^>]* href="([^"]+)"', page)
    found += re.findall(r'data-plotly="([^"]+)"', page)
    return found + re.findall(r'<script src="([^"]+)"', page)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_are_compressed_as_the_client_asks(client, encoding):
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers  # no Accept-Encoding: as it is
    packed = client.get("/", headers={"Accept-Encoding": f"{encoding}, identity"})
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.data) < len(plain.data) / 2
    assert decode(packed) == plain.data
    # Chromium asks for both: brotli wins.
    both = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert both.headers["Content-Encoding"] == "br"


def test_static_files_have_versioned_addresses_cached_for_a_year(client):
    page = client.get("/auth/register").get_data(as_text=True)
    addresses = linked(page)
    assert any("bootstrap.purged.css" in a for a in addresses)
    assert "/bootstrap/static/" not in page  # Bootstrap-Flask's 232 KB file is not linked
    for address in addresses:
        path, _, query = address.partition("?v=")
        filename = path.removeprefix("/static/")
        digest = hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:16]
        assert query == digest, address  # the content's hash is in the address
        response = client.get(address, headers={"Accept-Encoding": "br"})
        assert response.status_code == 200
        assert response.cache_control.public and response.cache_control.immutable
        assert response.cache_control.max_age == YEAR
        assert decode(response) == (STATIC / filename).read_bytes()
        # The same file under no version or an old one: fetched again each time, never kept.
        for other in (path, f"{path}?v=0123456789abcdef"):
            stale = client.get(other)
            assert stale.status_code == 200 and stale.cache_control.no_cache, other
            assert not stale.cache_control.immutable and stale.cache_control.max_age is None
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon and "?v=" in icon.group(1)
    assert client.get("/static/css/nothing.css").status_code == 404
    assert client.get("/static/../config.py").status_code == 404


def test_bootstrap_flask_files_get_the_same_treatment(app, client):
    with app.test_request_context():
        from flask import url_for

        address = url_for("bootstrap.static", filename="css/bootstrap.min.css")
    assert "?v=" in address
    response = client.get(address, headers={"Accept-Encoding": "gzip"})
    assert response.cache_control.immutable and response.cache_control.max_age == YEAR
    assert response.headers["Content-Encoding"] == "gzip"
    assert decode(response) == FULL_BOOTSTRAP.read_bytes()


@pytest.mark.parametrize("encoding", ["br", "gzip", None])
def test_static_files_answer_304_with_their_etag(client, encoding):
    headers = {"Accept-Encoding": encoding} if encoding else {}
    address = "/static/css/app.css"
    first = client.get(address, headers=headers)
    etag = first.headers["ETag"]
    again = client.get(address, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # The ETag names the encoding: a gzip copy never validates a brotli one.
    other = {"br": "gzip", "gzip": "br", None: "br"}[encoding]
    changed = client.get(address, headers={"Accept-Encoding": other, "If-None-Match": etag})
    assert changed.status_code == 200


@pytest.mark.parametrize("encoding", ["br", "gzip", None])
def test_html_is_no_cache_with_an_etag_and_a_304(client, encoding):
    headers = {"Accept-Encoding": encoding} if encoding else {}
    first = client.get("/privacy", headers=headers)
    assert first.status_code == 200 and first.cache_control.no_cache
    etag = first.headers["ETag"]
    again = client.get("/privacy", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.cache_control.no_cache


def test_signed_in_pages_are_private_and_no_store_stays(client, auth, make_user):
    assert client.get("/auth/register").headers["Cache-Control"] == "no-store"
    make_user(phone="0911111111")
    auth.login("0911111111")
    page = client.get("/surveys/")
    assert page.cache_control.no_cache and page.cache_control.private


def test_downloads_arrive_whole_when_the_client_accepts_compression(
    survey,  # noqa: F811
    client,
    auth,
    make_user,
):
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    ask = {"Accept-Encoding": "br, gzip"}
    url = "/results/hai-long-thu/results"
    for fmt in ("csv", "xlsx"):
        plain = client.get(f"{url}.{fmt}")
        packed = client.get(f"{url}.{fmt}", headers=ask)
        assert plain.status_code == packed.status_code == 200
        assert "attachment" in packed.headers["Content-Disposition"]
        assert decode(packed) == plain.data, fmt
    load_workbook(io.BytesIO(decode(client.get(f"{url}.xlsx", headers=ask))))
    data = client.get("/account/data.json", headers=ask)
    assert data.status_code == 200 and decode(data).startswith(b"{")


def test_plotly_is_the_vendored_cartesian_bundle_and_matches_its_pin():
    spec = importlib.util.spec_from_file_location("vendor", ROOT / "scripts" / "vendor_plotly.py")
    assert spec and spec.loader
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    assert plotly_js() == vendor.TARGET and plotly_version() == vendor.VERSION
    assert hashlib.sha256(plotly_js().read_bytes()).hexdigest() == vendor.FILE_SHA256
    assert plotly_js().stat().st_size < 1_500_000  # the full bundle is 4.8 MB


def test_plotly_is_compressed_cached_and_only_on_chart_pages(survey, client, auth, make_user):  # noqa: F811
    make_user(role="leader", phone="0911111111")
    auth.login("0911111111")
    page = client.get("/results/hai-long-thu").get_data(as_text=True)
    scripts = [a for a in linked(page) if "/vendor/plotly" in a]
    assert scripts == [f"/vendor/plotly-{plotly_version()}.min.js"]
    response = client.get(scripts[0], headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert len(response.data) < 450_000
    assert response.cache_control.immutable and response.cache_control.max_age == YEAR
    assert client.get("/vendor/plotly-0.0.1.min.js").status_code == 404
    for path in ("/", "/surveys/", "/contests/", "/auth/register"):
        assert "plotly" not in client.get(path).get_data(as_text=True), path


def _classes_in(text: str) -> set[str]:
    found: set[str] = set()
    for value in re.findall(r'class="([^"]*)"', text):
        value = re.sub(r"\{[{%].*?[}%]\}", " ", value)  # Jinja: the literal parts only
        found.update(c for c in value.split() if re.fullmatch(r"[a-z][a-z0-9-]*", c))
    return found


def _bootstrap_classes(css: str, alone: bool = False) -> set[str]:
    """Classes named in the CSS's selectors; `alone`: only those that some selector names
    without any other class (`.nav-item` only styles inside `.nav-fill`: not alone)."""
    css = re.sub(r"url\([^)]*\)|/\*.*?\*/", "", css, flags=re.S)
    found: set[str] = set()
    for rule in re.findall(r"([^{}]+)\{", css):
        for selector in rule.split(","):
            classes = set(re.findall(r"\.([a-z][a-z0-9-]*)", selector))
            if not alone or len(classes) == 1:
                found |= classes
    return found


def test_the_purged_bootstrap_keeps_every_class_the_templates_use():
    """Fails when a template starts using a Bootstrap class the purged file lacks: run
    `make css` (scripts/build_css.py) and commit app/static/css/bootstrap.purged.css."""
    full = _bootstrap_classes(FULL_BOOTSTRAP.read_text(), alone=True)
    kept = _bootstrap_classes(PURGED.read_text(), alone=True)
    sources = [*TEMPLATES.rglob("*.html")]
    sources += (Path(flask_bootstrap.__file__).parent / "templates" / "bootstrap5").glob("*.html")
    used: set[str] = set()
    for source in sources:
        used |= _classes_in(source.read_text())
    # Built from a value in the templates, or added by the browser's validation.
    used |= {"alert-danger", "alert-success", "alert-info", "alert-secondary", "alert-warning"}
    used |= {"text-bg-success", "text-bg-secondary", "is-invalid", "invalid-feedback"}
    used |= {"form-control", "form-select", "form-check-input", "table", "btn-primary"}
    missing = sorted(c for c in (used & full) if c not in kept)
    assert not missing, f"run `make css`: the purged Bootstrap lacks {missing}"
    assert len(PURGED.read_bytes()) < 60_000  # 232 KB before
    assert len(used & full) > 60  # the check reads the templates, not an empty set

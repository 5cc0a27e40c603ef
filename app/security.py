"""Security headers on every response, the session's idle timeout, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def safe_next(target: str | None, fallback: str) -> str:
    """A local path to go to after sign-in; anything pointing elsewhere gives `fallback`.

    Refuses absolute URLs, scheme-relative ones (`//evil.example`), backslash tricks
    (`/\\evil.example`, which browsers read as `//`) and control characters.
    """
    if not target:
        return fallback
    if any(ord(ch) < 32 for ch in target) or "\\" in target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


# What an account with a one-time password may still open: the password change, sign-out,
# static files and the language switch's pages stay reachable; everything else waits.
PASSWORD_FIRST_OPEN = frozenset({"account.password", "auth.logout", "static", "main.privacy"})


def _password_first() -> Response | None:
    """Until a staff account has replaced its one-time password, every page leads to the
    password change and the API answers 403 (server-side: nothing the browser can skip)."""
    from flask import redirect, url_for
    from flask_babel import gettext as _
    from flask_login import current_user

    if request.endpoint in PASSWORD_FIRST_OPEN or not current_user.is_authenticated:
        return None
    if not current_user.must_change_password:
        return None
    if request.path.startswith("/api/"):
        from app.errors import api_error

        return api_error(403, _("Please change your one-time password first."))
    return redirect(url_for("account.password"))


# Requests a page makes on its own (its files, its scripts' reads of the API): they never set
# the session cookie. Nothing under these paths writes the session (the API signs in with
# bearer tokens); Flask-Login's bookkeeping (`_fresh`) and the idle timeout's refresh would.
QUIET_PREFIXES = ("/static/", "/api/")


def _quiet() -> bool:
    return request.path.startswith(QUIET_PREFIXES)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, set by pages only. A favicon, a script or a fetch carries
    the cookie the browser had when it was sent; answered with that cookie set again and
    arriving after the person has signed in or out on another request, it would put the older
    session back: signed out again, a form's CSRF token gone (tests/test_auth_attacks.py, a
    late answer)."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if _quiet():
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.before_request(_password_first)

    @app.before_request
    def _idle_timeout() -> None:
        # A session expires after PERMANENT_SESSION_LIFETIME without a page (refreshed on
        # each one). Visitors with nothing in their session get no cookie at all.
        if session and not _quiet():
            session.permanent = True

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if app.config["SESSION_COOKIE_SECURE"]:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.path.startswith(("/api/", "/auth/", "/account/", "/officer/")):
            headers.setdefault("Cache-Control", "no-store")
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"] and request.cookies.get("lang") != lang:
            response.set_cookie(
                "lang",
                lang,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
            )
        return response

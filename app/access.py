"""Who may do what: the session user loader, role checks for pages, which network addresses
may read what only operators read (`/metrics`), and whose X-Forwarded-* headers are believed
(the configured proxies' only)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.extensions import db, login_manager
from app.models import Role, User
from app.services import policy
from app.services.accounts import load_session_user

F = TypeVar("F", bound=Callable[..., Any])

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to continue.")
login_manager.login_message_category = "info"
# "basic": a session used from another address or browser is marked not fresh (nothing here
# asks for freshness). It does NOT end the session: residents' phones change addresses on
# mobile networks mid-contest, so "strong" would sign them out. What ends a session is the
# account's nonce in it (`load_session_user`): sign-out, a password change and deletion
# change the nonce, so every copy of every session cookie and token stops working.
login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    return load_session_user(db.session, session_id)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Page decorator: signed in (else to the sign-in page) and one of `roles` (else 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


STAFF = policy.STAFF  # kept here for the decorators' callers; the rule lives in policy


# ------------------------------------------------------------------ by network address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(setting: str, name: str) -> tuple[Network, ...]:
    """Addresses and CIDR blocks, comma-separated (`METRICS_ALLOW`). A mistake stops the start
    with the setting's name: a typo must not open, or silently close, what it guards."""
    found: list[Network] = []
    for item in (part.strip() for part in setting.split(",")):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=True))
        except ValueError as error:
            raise RuntimeError(
                f"{name}: {item!r} is not an address or CIDR block ({error})."
            ) from None
    return tuple(found)


def address_within(address: str | None, allowed: tuple[Network, ...]) -> bool:
    """Whether `address` (the client as the app sees it: after ProxyFix, TRUSTED_PROXIES' hops
    back, else the socket's peer) lies in one of `allowed`. Not an address (a Unix socket, a
    forged header's garbage): no. An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is
    judged as the IPv4 address it is."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed)


# Set in the WSGI environ when the request came from a configured proxy and its X-Forwarded-*
# headers were applied (ProxyFix): the request id a proxy sends is kept only then.
PROXIED = "civic.proxied"


class FromProxiesOnly:
    """ProxyFix for requests whose socket peer is one of the configured proxies
    (`TRUSTED_PROXY_ADDRESSES`). `TRUSTED_PROXIES` says how many hops to read back, not who
    may say so: without this, a client that reaches a node around nginx could name any
    address in X-Forwarded-For — the loopback to read /metrics, a new address per try to
    escape the per-address limits. Anyone else is taken at its own socket address."""

    def __init__(self, plain: Any, fixed: Any, proxies: tuple[Network, ...]) -> None:
        self.plain, self.fixed, self.proxies = plain, fixed, proxies

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if address_within(environ.get("REMOTE_ADDR"), self.proxies):
            environ[PROXIED] = True
            return self.fixed(environ, start_response)
        return self.plain(environ, start_response)

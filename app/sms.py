"""Sending a verification code to a phone, through a pluggable sender.

Three senders, chosen by configuration (`sender_for(config)`):
- `ZaloZnsSender` when ZALO_ZNS_ACCESS_TOKEN is set: a ZNS template message (Zalo's
  `message/template` API: `access_token` header; `phone` as 84…, `template_id`,
  `template_data: {otp}`, `tracking_id`); Zalo answers `{"error": 0, …}` on success.
- `HttpSmsSender` when SMS_HTTP_URL is set: a generic JSON POST `{to, text}` to the gateway,
  `Authorization: Bearer SMS_HTTP_TOKEN`; any 2xx is success.
- `OutboxSender` otherwise (development, tests): each message appended to SMS_OUTBOX
  (default instance/sms-outbox.jsonl) as one JSON line `{"to", "text", "at"}`.

A sender raises `SendError` when the message could not be handed over (timeout, refused,
an error answer); the caller tells the person to try later. Nothing here logs a phone or a code.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

ZALO_ZNS_URL = "https://business.openapi.zalo.me/message/template"
DEFAULT_TIMEOUT = 5.0


class SendError(RuntimeError):
    """The message was not handed over; the reason is for the log (no phone, no code)."""


@dataclass(frozen=True)
class Message:
    to: str  # 0XXXXXXXXX (app/phones.py)
    text: str  # the whole message, for SMS and the outbox
    code: str  # the code alone, for template messages (ZNS)


class Sender(Protocol):
    def send(self, message: Message) -> None: ...


def international(phone: str) -> str:
    """'0912345678' -> '84912345678' (the form ZNS wants)."""
    return "84" + phone[1:] if phone.startswith("0") else phone


class OutboxSender:
    """Appends each message to a file as one JSON line: the developer's and the tests' phone."""

    _lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, message: Message) -> None:
        line = json.dumps(
            {"to": message.to, "text": message.text, "at": datetime.now(UTC).isoformat()},
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")
        except OSError as error:
            raise SendError(f"outbox not writable: {type(error).__name__}") from None


def _post_json(
    url: str, body: Mapping[str, Any], headers: Mapping[str, str], timeout: float
) -> Any:
    """POST JSON, return the decoded answer (None when it is not JSON); SendError otherwise.
    Only http(s) URLs: a configured `file:` URL must not read the disk."""
    if not url.lower().startswith(("https://", "http://")):
        raise SendError("the gateway URL is not http(s)")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        raise SendError(f"gateway answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise SendError(f"gateway unreachable: {type(error).__name__}") from None
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class HttpSmsSender:
    """A generic SMS gateway: POST {to, text} as JSON with a bearer token; 2xx is success."""

    def __init__(self, url: str, token: str = "", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Message) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        _post_json(self.url, {"to": message.to, "text": message.text}, headers, self.timeout)


class ZaloZnsSender:
    """Zalo Notification Service: the code in an approved OTP template (`template_data.otp`)."""

    def __init__(
        self,
        access_token: str,
        template_id: str,
        url: str = ZALO_ZNS_URL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.access_token, self.template_id = access_token, template_id
        self.url, self.timeout = url, timeout

    def send(self, message: Message) -> None:
        answer = _post_json(
            self.url,
            {
                "phone": international(message.to),
                "template_id": self.template_id,
                "template_data": {"otp": message.code},
                "tracking_id": uuid.uuid4().hex,
            },
            {"access_token": self.access_token},
            self.timeout,
        )
        # Zalo answers HTTP 200 with {"error": <non-zero>, "message": …} when it refuses.
        if not isinstance(answer, dict) or answer.get("error") != 0:
            code = answer.get("error") if isinstance(answer, dict) else None
            raise SendError(f"ZNS refused the message (error {code})")


def sender_for(config: Mapping[str, Any]) -> Sender:
    """The sender the configuration names: ZNS, then an HTTP gateway, else the outbox."""
    timeout = float(config.get("SMS_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT)
    if config.get("ZALO_ZNS_ACCESS_TOKEN"):
        return ZaloZnsSender(
            config["ZALO_ZNS_ACCESS_TOKEN"],
            config.get("ZALO_ZNS_TEMPLATE_ID") or "",
            config.get("ZALO_ZNS_URL") or ZALO_ZNS_URL,
            timeout,
        )
    if config.get("SMS_HTTP_URL"):
        return HttpSmsSender(config["SMS_HTTP_URL"], config.get("SMS_HTTP_TOKEN") or "", timeout)
    return OutboxSender(config["SMS_OUTBOX"])

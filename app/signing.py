"""The app's signed values (itsdangerous): one serializer per secret key, salt and kind,
made once per process. A serializer keeps no state between calls, so one is shared by every
request; making it again for each (its signer, its JSON dumper) cost a start attempt about as
much as its own checks (bench/profile_attempts.py)."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer


@lru_cache(maxsize=64)
def serializer(secret_key: str | bytes, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=salt)


@lru_cache(maxsize=64)
def timed_serializer(secret_key: str | bytes, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def app_serializer(salt: str) -> URLSafeSerializer:
    """`serializer` under the current app's SECRET_KEY."""
    return serializer(current_app.config["SECRET_KEY"] or "", salt)


def app_timed_serializer(salt: str) -> URLSafeTimedSerializer:
    """`timed_serializer` under the current app's SECRET_KEY."""
    return timed_serializer(current_app.config["SECRET_KEY"] or "", salt)

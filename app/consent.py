"""The purpose people agree to at sign-up. Change the text -> bump the version."""

from flask_babel import lazy_gettext as _l

CONSENT_VERSION = "2026-11-v1"

CONSENT_TEXT = _l(
    "I agree that the organisers keep my name, phone number, commune/ward and, if I give them, "
    "my birth year and gender, to run contests and surveys: to check one entry per person, to "
    "rank entries and contact prize winners, and to count participation per commune/ward. They "
    "are not used for anything else and not given to anyone else. Answers to anonymous surveys "
    "are never linked to me. I can download my data or delete my account at any time."
)

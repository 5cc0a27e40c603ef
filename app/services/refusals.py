"""The two ways a service refuses an officer's or a resident's request, one class each:
a field to fix (`FieldError`: the field, the message, whether it clashes with something saved)
and an actor outside their scope (`NotAllowed`: the policy said no). Each service names its own
subclass (AccountError, HamletError, StaffError) so a page can catch what it expects."""

from __future__ import annotations


class FieldError(ValueError):
    """A problem with one field (`field`); the message says what to fix. `conflict`: the value
    clashes with one already saved (a phone in use, a hamlet's name taken) — a 409, not a 422."""

    def __init__(self, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.conflict = conflict


class NotAllowed(Exception):
    """The actor may not do this to that place, account or job (app/services/policy.py said no)."""

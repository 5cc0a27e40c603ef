"""Field helpers shared by the web forms: NFC for all text, phone normalisation."""

from __future__ import annotations

from typing import Any

from wtforms import Field, StringField, ValidationError

from app.phones import PhoneError, normalize_phone
from app.text import nfc


def nfc_filter(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


class NFCStringField(StringField):
    """A text field whose value is NFC-normalised and trimmed before any validator runs."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.data = nfc_filter(self.data)


def phone_number(_form: Any, field: Field) -> None:
    """Validator: replace the typed number by its one stored form, or explain the format."""
    try:
        field.data = normalize_phone(field.data or "")
    except PhoneError as error:
        raise ValidationError(str(error)) from None

"""Models, one module per area. Import them here so Alembic sees every table."""

from app.models.people import Consent, Gender, Role, Unit, UnitLevel, User
from app.models.types import UTCDateTime, utcnow

__all__ = ["Consent", "Gender", "Role", "UTCDateTime", "Unit", "UnitLevel", "User", "utcnow"]

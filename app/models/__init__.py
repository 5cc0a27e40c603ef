"""Models, one module per area. Import them here so Alembic sees every table."""

from app.models.content import (
    Bank,
    ContentVersion,
    Contest,
    Question,
    QuestionVersion,
    Round,
    Survey,
    SurveyQuestion,
)
from app.models.contests import Attempt, AttemptQuestion, BestAttempt
from app.models.integrity import AccountOrigin, AttemptDevice, Certificate, Disqualification
from app.models.jobs import Job
from app.models.people import (
    AuditEvent,
    Consent,
    Gender,
    PhoneCode,
    Role,
    Unit,
    UnitLevel,
    User,
)
from app.models.surveys import (
    CHANNELS,
    SurveyAnswer,
    SurveyDraft,
    SurveyLedger,
    SurveyPending,
    SurveyResponse,
)
from app.models.tallies import SurveyTally, SurveyTallyCount
from app.models.types import UTCDateTime, utcnow

__all__ = [
    "CHANNELS",
    "AccountOrigin",
    "Attempt",
    "AttemptDevice",
    "AttemptQuestion",
    "AuditEvent",
    "Bank",
    "BestAttempt",
    "Certificate",
    "Consent",
    "ContentVersion",
    "Contest",
    "Disqualification",
    "Gender",
    "Job",
    "PhoneCode",
    "Question",
    "QuestionVersion",
    "Role",
    "Round",
    "Survey",
    "SurveyAnswer",
    "SurveyDraft",
    "SurveyLedger",
    "SurveyPending",
    "SurveyQuestion",
    "SurveyResponse",
    "SurveyTally",
    "SurveyTallyCount",
    "UTCDateTime",
    "Unit",
    "UnitLevel",
    "User",
    "utcnow",
]

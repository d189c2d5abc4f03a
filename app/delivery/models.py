"""The outbox tables under their former name (they live in :mod:`app.outbox.models`)."""

from app.outbox.models import OUTBOX_STATES as OUTBOX_STATES
from app.outbox.models import SUPPRESSION_REASONS as SUPPRESSION_REASONS
from app.outbox.models import OutboxEntry as OutboxEntry
from app.outbox.models import SendLog as SendLog
from app.outbox.models import Suppression as Suppression

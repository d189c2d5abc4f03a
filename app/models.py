"""Imports every model module so the metadata (and Alembic) know the whole schema."""

from app.accounts import models as accounts_models  # noqa: F401
from app.api import models as api_models  # noqa: F401
from app.campaigns import models as campaigns_models  # noqa: F401
from app.compliance import models as compliance_models  # noqa: F401
from app.decisions import models as decisions_models  # noqa: F401
from app.delivery import models as delivery_models  # noqa: F401
from app.ledger import models as ledger_models  # noqa: F401
from app.marketing import models as marketing_models  # noqa: F401
from app.vault import models as vault_models  # noqa: F401
from app.webhooks import models as webhooks_models  # noqa: F401

"""Imports every model module so the metadata (and Alembic) know the whole schema."""

from app.accounts import models as accounts_models  # noqa: F401
from app.campaigns import models as campaigns_models  # noqa: F401
from app.compliance import models as compliance_models  # noqa: F401
from app.customers import models as customers_models  # noqa: F401
from app.integrations import models as api_models  # noqa: F401
from app.ledger import models as ledger_models  # noqa: F401
from app.marketing import models as marketing_models  # noqa: F401
from app.outbox import models as outbox_models  # noqa: F401
from app.policy_sets import models as policy_sets_models  # noqa: F401
from app.vault import models as vault_models  # noqa: F401
from app.webhooks import models as webhooks_models  # noqa: F401

"""Former home of the runtime and the policy helpers, kept for code that imports them here.

New code imports :mod:`app.runtime` and :mod:`app.policy_sets.in_force` (see
docs/ARCHITECTURE.md, "Compatibility names").
"""

from app.policy_sets.in_force import known_channels as known_channels
from app.policy_sets.in_force import known_purposes as known_purposes
from app.policy_sets.in_force import marketing_purposes as marketing_purposes
from app.policy_sets.in_force import policy_for as policy_for
from app.runtime import Runtime as Runtime
from app.runtime import runtime as runtime

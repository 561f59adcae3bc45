"""Root conftest: Hypothesis profiles. (The suite's pytest plugin, fixtures/plugin.py, is loaded
by the package's pytest11 entry point, so it works in any repository where memsuite is installed.)

Profiles: `ci` (default; few examples, no deadline, derandomized so runs repeat exactly) and
`dev` (more examples). Choose with HYPOTHESIS_PROFILE=dev.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

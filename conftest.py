"""Root conftest: load the suite's pytest plugin and set Hypothesis profiles.

Profiles: `ci` (default; few examples, no deadline, derandomized so runs repeat exactly) and
`dev` (more examples). Choose with HYPOTHESIS_PROFILE=dev.
"""

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["fixtures.plugin"]

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

"""Suite-wide settings.

Hypothesis explores new random examples on every developer run (that is how it finds
bugs); under CI (``CI`` set, as `.ci/run` is run) it is derandomized so that a
submission's result does not depend on luck. A failure found locally is replayed from
the example database until fixed.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

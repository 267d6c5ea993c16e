"""Named crash points for the kill -9 tests: ``STAYLEDGER_FAILPOINT=NAME`` kills the process when NAME is reached.

Unset (always, outside those tests), a failpoint is one dictionary lookup. The process is killed with SIGKILL, as
a power cut or the OOM killer would, so no ``finally`` block or rollback runs: what survives is what the store had
committed.
"""

from __future__ import annotations

import os
import signal

FAILPOINT_ENV = "STAYLEDGER_FAILPOINT"


def failpoint(name: str) -> None:
    if os.environ.get(FAILPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)

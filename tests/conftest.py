"""Fixtures shared by unit and integration tests."""

import signal

from tests.postgres_server import pg_database, pg_url  # noqa: F401 - fixtures, found by name
from tests.trained_ledger import trained  # noqa: F401 - a session fixture, found by name
from tests.spark_session import spark  # noqa: F401 - one local Spark session per test run

# A shell starts a background job (`bash .ci/run &`) with Ctrl-C ignored, and Python then installs no
# KeyboardInterrupt handler: the Ctrl-C tests would see nothing. Take Ctrl-C as a terminal would deliver it
# (the ingest commands run as child processes then get it too: a handled signal is reset on exec).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

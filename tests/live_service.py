"""The service over a store on a free local port, in a thread of this process (a real uvicorn, real sockets)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stayledger.api.app import create_app
from stayledger.usecases.audit import Signer


@contextmanager
def serving(store: Any, **options: Any) -> Iterator[str]:
    """The service over ``store`` (``create_app``'s ``options``; no answer-time floor unless given); its base URL."""
    app = create_app(store, Signer(Ed25519PrivateKey.generate()), **{"traveller_floor": 0.0, **options})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)

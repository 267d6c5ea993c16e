"""Schemathesis against the service's own OpenAPI schema, bounded: whatever is sent, no answer is a 5xx."""

from __future__ import annotations

import json

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings

from stayledger.api.app import create_app
from stayledger.formats.canonical import RawRecord
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.audit import Signer
from stayledger.usecases.ingest import ingest_records
from stayledger.usecases.resolve import resolve_identities
from stayledger.usecases.users import add_user
from tests.access import ADMIN
from tests.integration.test_review import ARRIVAL, DEPARTURE

store = MemoryStore()
ingest_records(store, ADMIN, "seed", [RawRecord(f"line {i}", json.dumps(e), e) for i, e in enumerate((ARRIVAL, DEPARTURE))])
resolve_identities(store, ADMIN)
TOKEN = add_user(store, ADMIN, "fuzz-admin", "admin")  # the role that may call every route: the deepest paths
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store, Signer(Ed25519PrivateKey.generate())))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_service_fail(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=[schemathesis.checks.not_a_server_error])

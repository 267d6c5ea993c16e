"""JWTs from an OpenID Connect issuer: accepted with the right issuer, audience, key and role; refused otherwise."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from stayledger.api.app import create_app
from stayledger.api.oidc import OidcVerifier
from stayledger.audit.log import parse_entry
from stayledger.storage.memory import MemoryStore

ISSUER, AUDIENCE = "https://login.example.test/realms/border", "stayledger"
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())


def token(key=KEY, kid="k1", **changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-123", "preferred_username": "alice", "iat": now,
              "exp": now + 300, "stayledger_role": "auditor", **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="ES256", headers={"kid": kid})


@pytest.fixture
def client(tmp_path: Path):
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "ES256"}]}))
    store = MemoryStore()
    app = create_app(store, oidc=OidcVerifier.from_jwks_file(ISSUER, AUDIENCE, tmp_path / "jwks.json"))
    with TestClient(app) as test_client:
        yield test_client, store


def call(client, bearer: str):
    return client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {bearer}"})


def test_a_valid_token_acts_as_its_user_in_its_role(client):
    http, store = client
    assert call(http, token()).status_code == 200
    entry = parse_entry(list(store.audit_rows())[-1][1])
    assert (entry["actor"], entry["role"], entry["action"]) == ("oidc:alice", "auditor", "audit.verify")
    assert call(http, token(stayledger_role="officer")).status_code == 403  # a real role, but not allowed here


@pytest.mark.parametrize("bad", [
    {"exp": int(time.time()) - 10}, {"aud": "another-service"}, {"iss": "https://evil.example.test"},
    {"stayledger_role": "traveller"}, {"stayledger_role": "root"}, {"stayledger_role": None}, {"sub": None},
])
def test_tokens_with_wrong_claims_are_refused(client, bad):
    http, _ = client
    assert call(http, token(**bad)).status_code == 401


def test_tokens_signed_by_another_key_or_with_a_shared_secret_are_refused(client):
    http, _ = client
    assert call(http, token(key=OTHER)).status_code == 401
    assert call(http, token(kid="unknown")).status_code == 401
    # Symmetric algorithms are refused outright: a shared secret could mint any role.
    forged = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60, "stayledger_role": "admin"},
                        "a shared secret of at least thirty-two bytes", algorithm="HS256", headers={"kid": "k1"})
    assert call(http, forged).status_code == 401
    assert call(http, "not.a.jwt").status_code == 401

"""Bearer JWTs from an OpenID Connect issuer, as an alternative to stayledger's own tokens.

Configured with the issuer, the audience, the issuer's public keys (a JWKS file, read at start: the service
fetches nothing at run time) and the claim that carries the role. The actor is the token's subject (or its
``preferred_username``); a role claim naming no stayledger staff role is refused, as is any token that is expired,
not yet valid, for another audience or issuer, or not signed by one of the keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jwt

from stayledger.errors import ConfigurationError

ALGORITHMS = ["RS256", "ES256", "EdDSA"]  # asymmetric only: a shared secret could mint tokens


@dataclass(frozen=True)
class OidcVerifier:
    issuer: str
    audience: str
    keys: jwt.PyJWKSet
    role_claim: str = "stayledger_role"

    @classmethod
    def from_jwks_file(cls, issuer: str, audience: str, jwks: Path, role_claim: str = "stayledger_role") -> "OidcVerifier":
        try:
            keys = jwt.PyJWKSet.from_dict(json.loads(jwks.read_text(encoding="utf-8")))
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise ConfigurationError(f"--oidc-jwks {jwks}: not a readable JSON Web Key Set ({exc})") from None
        return cls(issuer, audience, keys, role_claim)

    def caller(self, token: str) -> tuple[str, str] | None:
        """(actor, role) of a valid token, or None."""
        from stayledger.usecases.users import STAFF_ROLES

        try:
            header = jwt.get_unverified_header(token)
            key = next((k for k in self.keys.keys if k.key_id == header.get("kid")), None)
            if key is None:
                return None
            claims = jwt.decode(token, key=key.key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWTError:
            return None
        role = claims.get(self.role_claim)
        if role not in {r.value for r in STAFF_ROLES}:
            return None
        actor = str(claims.get("preferred_username") or claims["sub"])
        return f"oidc:{actor}", str(role)

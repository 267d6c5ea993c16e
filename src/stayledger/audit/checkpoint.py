"""Signed tree heads in the C2SP formats: a tlog-checkpoint body in an Ed25519 signed note.

https://c2sp.org/tlog-checkpoint and https://c2sp.org/signed-note — the formats Go's sumdb and Sigstore's logs
use, so an auditor can check our checkpoints with tools that are not ours.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space start every signature line
ED25519_ALGORITHM = b"\x01"


class CheckpointError(ValueError):
    """A checkpoint that is malformed or whose signature does not verify with the trusted key."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: str | None = None  # an extension line "timestamp <RFC 3339 UTC>"

    def body(self) -> str:
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode("ascii")]
        if self.timestamp is not None:
            lines.append(f"timestamp {self.timestamp}")
        return "".join(line + "\n" for line in lines)


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """signed-note key id: the first 4 bytes of SHA-256(name || "\\n" || 0x01 || public key)."""
    return hashlib.sha256(key_name.encode("utf-8") + b"\n" + ED25519_ALGORITHM + _raw_public(public_key)).digest()[:4]


def sign_checkpoint(checkpoint: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    body = checkpoint.body()
    signature = private_key.sign(body.encode("utf-8"))
    blob = base64.b64encode(key_id(key_name, private_key.public_key()) + signature).decode("ascii")
    return f"{body}\n{SIGNATURE_PREFIX}{key_name} {blob}\n"


def parse_and_verify(note: str, key_name: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in ``note`` if a signature by ``key_name`` verifies over its body; else ``CheckpointError``."""
    body, separator, signatures = note.rpartition("\n\n")
    if not separator or not body:
        raise CheckpointError("not a signed note (no blank line between the text and its signatures)")
    body += "\n"
    wanted_id = key_id(key_name, public_key)
    verified = False
    for line in signatures.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"not a signature line: {line[:40]!r}")
        name, _, blob = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            raise CheckpointError(f"signature of {name!r} is not base64") from None
        if name != key_name or raw[:4] != wanted_id:
            continue  # another key's signature: not ours to judge
        try:
            public_key.verify(raw[4:], body.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(f"the signature of {key_name!r} does not verify: the checkpoint was altered") from None
        verified = True
    if not verified:
        raise CheckpointError(f"no signature by the trusted key {key_name!r} ({wanted_id.hex()})")
    return _parse_body(body)


def _parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a tree size and a root hash")
    origin, size_text, root_text, *extensions = lines
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"tree size {size_text!r} is not a decimal number without leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise CheckpointError("the root hash is not base64") from None
    if len(root) != 32:
        raise CheckpointError("the root hash is not 32 bytes")
    timestamp = next((e.removeprefix("timestamp ") for e in extensions if e.startswith("timestamp ")), None)
    return Checkpoint(origin, int(size_text), root, timestamp)


def verifier_key_string(key_name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key: ``name+hex key id+base64(0x01 || public key)``."""
    encoded = base64.b64encode(ED25519_ALGORITHM + _raw_public(public_key)).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def public_key_from_verifier_string(text: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, hex_id, encoded = text.strip().split("+", 2)  # base64 itself may hold "+"
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise CheckpointError("a verifier key looks like NAME+KEYID+BASE64") from None
    if raw[:1] != ED25519_ALGORITHM or len(raw) != 33:
        raise CheckpointError("not an Ed25519 verifier key")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public_key).hex() != hex_id:
        raise CheckpointError("the verifier key's id does not match its name and key")
    return name, public_key


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read the PEM key at ``path``, or create it (mode 0600, directory 0700) atomically on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)  # fails if another process created the key meanwhile: then use theirs
    except FileExistsError:
        os.unlink(temporary)
        return load_or_create_signing_key(path)
    os.unlink(temporary)
    return key

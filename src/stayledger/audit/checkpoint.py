"""Signed tree heads in the C2SP formats: a tlog-checkpoint body in an Ed25519 signed note.

https://c2sp.org/tlog-checkpoint and https://c2sp.org/signed-note — the formats Go's sumdb and Sigstore's logs
use, so an auditor can check our checkpoints with tools that are not ours (``golang.org/x/mod/sumdb/note``).

A checkpoint's text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` and, here, one extension line
``timestamp <RFC 3339 UTC>\\n``; the signed note adds a blank line and ``— <key name> <base64(key id || sig)>\\n``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space start every signature line
ED25519_ALGORITHM = b"\x01"  # signed-note signature type of Ed25519
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note; the spec asks verifiers to accept at least 16
MAX_TREE_SIZE = 2**64 - 1  # other implementations parse the size as a uint64
TIMESTAMP_EXTENSION = "timestamp "

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_RFC3339_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")


class CheckpointError(ValueError):
    """A checkpoint or key that is malformed, or whose signature does not verify with the trusted key."""


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 for c in text)


def _check_timestamp(text: str) -> None:
    if not _RFC3339_UTC.fullmatch(text):
        raise CheckpointError(f"timestamp {text!r} is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z")
    try:
        datetime.fromisoformat(text[:19])  # the pattern fixes the shape; this rejects 2026-02-30 and 25:00
    except ValueError:
        raise CheckpointError(f"timestamp {text!r} is not a real date and time") from None


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log (origin), how many leaves, their RFC 6962 root, and when it was signed."""

    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: str | None = None  # the extension line "timestamp <RFC 3339 UTC>", e.g. "2026-01-31T12:00:00Z"

    def __post_init__(self) -> None:
        # Checked on construction so that no checkpoint can be signed whose text would parse differently.
        if not self.origin or _has_control(self.origin):
            raise CheckpointError("a checkpoint origin is one non-empty line")
        if not isinstance(self.tree_size, int) or isinstance(self.tree_size, bool):
            raise CheckpointError(f"tree size {self.tree_size!r} is not a whole number")
        if not 0 <= self.tree_size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.tree_size} is out of range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != 32:
            raise CheckpointError("the root hash is 32 bytes (SHA-256)")
        if self.timestamp is not None:
            _check_timestamp(self.timestamp)

    def body(self) -> str:
        """The note text that is signed."""
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode("ascii")]
        if self.timestamp is not None:
            lines.append(TIMESTAMP_EXTENSION + self.timestamp)
        return "".join(line + "\n" for line in lines)


def _check_key_name(name: str) -> None:
    if not isinstance(name, str) or not name or "+" in name or any(c.isspace() or ord(c) < 0x20 for c in name):
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """signed-note key id: the first 4 bytes of SHA-256(name || "\\n" || 0x01 || 32-byte public key)."""
    return hashlib.sha256(key_name.encode("utf-8") + b"\n" + ED25519_ALGORITHM + _raw_public(public_key)).digest()[:4]


def sign_note(text: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """``text`` as a signed note with one Ed25519 signature by ``key_name``."""
    _check_key_name(key_name)
    if not text.endswith("\n") or _has_control(text.replace("\n", "")):
        raise CheckpointError("a note's text ends in a newline and has no other control characters")
    signature = private_key.sign(text.encode("utf-8"))
    blob = base64.b64encode(key_id(key_name, private_key.public_key()) + signature).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{key_name} {blob}\n"


def sign_checkpoint(checkpoint: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a C2SP signed note, signed by ``key_name``."""
    return sign_note(checkpoint.body(), key_name, private_key)


def open_note(note: str, key_name: str, public_key: Ed25519PublicKey) -> str:
    """The text of a signed note if it carries a valid signature by the trusted key; else ``CheckpointError``.

    As signed-note asks: signatures of other keys (another name or key id) are ignored, a signature of the
    trusted key that fails to verify rejects the whole note, and the note needs at least one that verifies.
    """
    _check_key_name(key_name)
    if not isinstance(note, str):
        raise CheckpointError("a signed note is text")
    if _has_control(note.replace("\n", "")):
        raise CheckpointError("a signed note has no control characters other than newlines")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError("a signed note is valid UTF-8") from None
    split = note.rfind("\n\n")  # the last blank line: the text may itself hold blank lines
    if split < 0:
        raise CheckpointError("not a signed note: no blank line between the text and its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise CheckpointError("not a signed note: the signatures do not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"a signed note with more than {MAX_SIGNATURES} signatures")
    wanted_id = key_id(key_name, public_key)
    message = text.encode("utf-8")
    verified = False
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"not a signature line: {line[:40]!r}")
        name, _, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            raise CheckpointError(f"the signature of {name!r} is not base64") from None
        try:
            _check_key_name(name)
        except CheckpointError as exc:
            raise CheckpointError(f"malformed signature line: {exc}") from None
        if len(raw) < 5:
            raise CheckpointError(f"the signature of {name!r} is too short")
        if name != key_name or raw[:4] != wanted_id:
            continue  # another key's signature (a witness, a rotated key): not ours to judge
        try:
            if len(raw) != 4 + 64:
                raise InvalidSignature
            public_key.verify(raw[4:], message)
        except InvalidSignature:
            raise CheckpointError(
                f"the signature by {key_name} ({wanted_id.hex()}) does not verify: the note was altered"
            ) from None
        verified = True
    if not verified:
        raise CheckpointError(f"no signature by the trusted key {key_name} ({wanted_id.hex()})")
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint in a note's text (unverified: use :func:`parse_and_verify` for anything received)."""
    if not text.endswith("\n"):
        raise CheckpointError("a checkpoint's text ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a tree size and a root hash, one per line")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("the checkpoint's origin line is empty")
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError(f"tree size {size_text!r} is not a decimal number without leading zeros")
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise CheckpointError(f"tree size {size_text} is out of range")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"root hash {root_text!r} is not base64") from None
    if len(root) != 32 or base64.b64encode(root).decode("ascii") != root_text:
        raise CheckpointError(f"root hash {root_text!r} is not the base64 of 32 bytes")
    timestamp: str | None = None
    for line in extensions:
        # Refused rather than dropped: a Checkpoint could not carry them, and what was signed must be what is read.
        if not line.startswith(TIMESTAMP_EXTENSION) or timestamp is not None:
            raise CheckpointError(f"unexpected extension line {line[:60]!r}")
        timestamp = line[len(TIMESTAMP_EXTENSION) :]
    checkpoint = Checkpoint(origin, size, root, timestamp)
    if checkpoint.body() != text:  # belt and braces: the parse is exact
        raise CheckpointError("the checkpoint is not in canonical form")
    return checkpoint


def parse_and_verify(note: str, key_name: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in ``note`` if a signature by ``key_name`` verifies over its text; else ``CheckpointError``."""
    return parse_checkpoint(open_note(note, key_name, public_key))


def verifier_key_string(key_name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key: ``name+hex key id+base64(0x01 || public key)``."""
    _check_key_name(key_name)
    encoded = base64.b64encode(ED25519_ALGORITHM + _raw_public(public_key)).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def public_key_from_verifier_string(text: str) -> tuple[str, Ed25519PublicKey]:
    """The key name and Ed25519 public key of a verifier key string; ``CheckpointError`` if it is not one."""
    parts = text.strip().split("+", 2)  # the base64 part may itself hold "+"
    if len(parts) != 3 or not _KEY_ID_HEX.fullmatch(parts[1]):
        raise CheckpointError("a verifier key looks like NAME+KEYID+BASE64 (KEYID: 8 hex digits)")
    name, hex_id, encoded = parts
    _check_key_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError("the verifier key's public key is not base64") from None
    if raw[:1] != ED25519_ALGORITHM or len(raw) != 33:
        raise CheckpointError("not an Ed25519 verifier key (type 0x01 and 32 bytes)")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    except ValueError:
        raise CheckpointError("not an Ed25519 public key") from None
    if key_id(name, public_key) != bytes.fromhex(hex_id):
        raise CheckpointError("the verifier key's id does not match its name and key")
    return name, public_key


def _load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm) as exc:  # TypeError: it is encrypted
        raise ValueError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def _make_private_dirs(directory: Path) -> None:
    # Each missing directory gets 0700 (Path.mkdir(parents=True) would give parents the umask default).
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it meanwhile
        os.chmod(created, 0o700)  # mkdir's mode is masked by the umask


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not every platform opens directories; the key file itself was synced
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read the Ed25519 key (PEM, PKCS#8, unencrypted) at ``path``, or create it there on first use.

    A new key is written whole to a temporary file (mode 0600) in the same directory and then linked into
    place; missing directories are made with mode 0700. ``os.link`` fails if the name exists, so of two
    processes creating the key at once one wins and the other adopts its key: a plain ``os.replace`` would let
    the second overwrite the first, whose signatures could then never be verified.
    """
    path = Path(path)
    if path.exists():
        return _load_signing_key(path)
    _make_private_dirs(path.parent)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, pem)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _load_signing_key(path)  # another process created the key meanwhile: use theirs
        except OSError:
            # No hard links on this file system: replace, then read back whatever won.
            os.replace(temporary, path)
            _fsync_directory(path.parent)
            return _load_signing_key(path)
        _fsync_directory(path.parent)
        return key
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass

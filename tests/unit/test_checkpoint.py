"""Signed checkpoints (C2SP tlog-checkpoint in a C2SP signed note, Ed25519): published vectors, tampering, keys.

Published vectors (data only):

* golang.org/x/mod sumdb/note — github.com/golang/mod at fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db,
  sumdb/note/example_test.go (ExampleSign, ExampleOpen) and sumdb/note/note_test.go (TestNewVerifier, TestOpen):
  the PeterNeumann and EnochRoot keys and signed notes;
* https://c2sp.org/signed-note — github.com/C2SP/C2SP at 5ba5ee830903e91240fc6f9f3a7a9293d49e69c9,
  signed-note.md "Example" (example.com/foo) and tlog-checkpoint.md (the example checkpoint body);
* a real sum.golang.org checkpoint with witness cosignatures — github.com/transparency-dev/formats at
  5242c17862d31acd165afafa140ecc973a621469, log/note_test.go (TestSumDBNoteParsing, BenchmarkParse).
"""

from __future__ import annotations

import base64
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    key_id,
    load_or_create_signing_key,
    open_note,
    parse_and_verify,
    parse_checkpoint,
    public_key_from_verifier_string,
    sign_checkpoint,
    sign_note,
    verifier_key_string,
)

# --- golang.org/x/mod/sumdb/note ------------------------------------------------------------------------------
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_BLOB = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
PETER_SIG = f"— PeterNeumann {PETER_BLOB}\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

# --- C2SP signed-note.md ----------------------------------------------------------------------------------------
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# --- transparency-dev/formats log/note_test.go ------------------------------------------------------------------
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
    "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n"
)
WITNESS_VKEYS = [
    "monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT",
    "bananas+cf639f13+AaPjhFnPCQnid/Ql32KWhmh+uk72FVRfK+2DLmO3BI3M",
    "witness+f13a86db+AdYV1Ztajd9BvyjP2HgpwrqYL6TjOwIjGMOq8Bu42xbN",
]
WITNESS_SIGS = [
    "— monkeys 202ffh9ve46Mqbhuyb4wnC2Pwdan5EsXQym/tF1ggXJqhjGosU4T5intH4iKMRgDLxrnXuIjRaU2NbvAnaepM6Y+8ww=\n",
    "— bananas z2OfE+2bbsBZ7NLgfuslc0v7NFW2QyexJ7fhePpoL2N/P7N/COd5S+JNHbQEAlYzz2C5sg0E+x/MggS1mDR6t3/9rQw=\n",
    "— witness 8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPgCke6eSVPU4BdtXNMPJBXKF+UpDbGgCdcpR8SVSoqAU=\n",
    # an unknown name carrying another key's signature: ignored
    "— random1 8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPgCke6eSVPU4BdtXNMPJBXKF+UpDbGgCdcpR8SVSoqAU=\n",
]

ROOT = bytes(range(32))
STAMP = "2026-01-31T12:00:00Z"
NAME = "stayledger-test"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def peter_private_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])  # type byte 0x01, then the 32-byte seed
    assert raw[0] == 1 and len(raw) == 33
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


# --- published vectors ---------------------------------------------------------------------------------------------


def test_the_go_note_packages_example_opens():
    name, public = public_key_from_verifier_string(PETER_VKEY)
    assert name == "PeterNeumann" and key_id(name, public).hex() == "c74f20a3"
    assert open_note(PETER_TEXT + "\n" + PETER_SIG, name, public) == PETER_TEXT


def test_we_sign_the_go_note_packages_example_byte_for_byte():
    private = peter_private_key()
    assert verifier_key_string("PeterNeumann", private.public_key()) == PETER_VKEY
    assert sign_note(PETER_TEXT, "PeterNeumann", private) == PETER_TEXT + "\n" + PETER_SIG  # Ed25519 is deterministic


def test_a_note_signed_by_two_keys_opens_with_either_and_needs_one():
    note = PETER_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    for vkey in (PETER_VKEY, ENOCH_VKEY):
        assert open_note(note, *public_key_from_verifier_string(vkey)) == PETER_TEXT
    with pytest.raises(CheckpointError, match="no signature by the trusted key"):
        open_note(note, *public_key_from_verifier_string(C2SP_VKEY))


def test_a_signature_of_the_trusted_key_that_fails_rejects_the_note():
    name, public = public_key_from_verifier_string(PETER_VKEY)
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]  # note_test.go TestOpen "Invalid signature"
    with pytest.raises(CheckpointError):
        open_note(PETER_TEXT + "\n" + broken, name, public)
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(PETER_TEXT + "\n" + ENOCH_SIG + PETER_SIG + broken.replace("ABCD", "ABCE"), name, public)


@pytest.mark.parametrize("note", [
    PETER_TEXT,  # note_test.go TestOpen badMsgs: no signatures
    PETER_TEXT + "\n",
    PETER_TEXT + "\n" + PETER_SIG[:-1],  # no final newline
    "\x01" + PETER_TEXT + "\n" + PETER_SIG,  # a control character
    "\udcff" + PETER_TEXT + "\n" + PETER_SIG,  # not UTF-8 (a lone surrogate is how Python carries a bad byte)
    PETER_TEXT + "\n" + f"— Bad Name {PETER_BLOB}",  # a space in the name
    PETER_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    PETER_TEXT + "\n" + PETER_SIG * 101,  # too many signatures
    PETER_TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
])
def test_malformed_notes_are_refused(note):
    with pytest.raises(CheckpointError):
        open_note(note, *public_key_from_verifier_string(PETER_VKEY))


def test_verifier_key_manglings_are_refused():
    # note_test.go TestNewVerifier: every other substring and every single-byte increment must fail.
    mangled = {PETER_VKEY[i:j] for i in range(len(PETER_VKEY) + 1) for j in range(i + 1, len(PETER_VKEY) + 1)}
    mangled.discard(PETER_VKEY)
    mangled |= {PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1:] for i in range(len(PETER_VKEY))}
    mangled |= {
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong key length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
    }
    for text in mangled:
        with pytest.raises(CheckpointError):
            public_key_from_verifier_string(text)


def test_the_c2sp_signed_note_example_opens():
    name, public = public_key_from_verifier_string(C2SP_VKEY)
    assert open_note(C2SP_NOTE, name, public) == "This is an example message.\n"


def test_the_c2sp_checkpoint_example_parses():
    root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    checkpoint = parse_checkpoint(f"example.com/behind-the-sofa\n20852163\n{root}\n")
    assert (checkpoint.origin, checkpoint.tree_size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.root_hash == base64.b64decode(root) and checkpoint.timestamp is None


def test_a_real_sum_golang_org_checkpoint_verifies_with_its_witnesses():
    name, public = public_key_from_verifier_string(SUMDB_VKEY)
    checkpoint = parse_and_verify(SUMDB_NOTE, name, public)
    assert (checkpoint.origin, checkpoint.tree_size) == ("go.sum database tree", 6476701)
    assert checkpoint.root_hash == base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=")
    cosigned = SUMDB_NOTE + "".join(WITNESS_SIGS)
    assert parse_and_verify(cosigned, name, public) == checkpoint  # cosignatures of other keys are ignored
    for vkey in WITNESS_VKEYS:
        assert parse_and_verify(cosigned, *public_key_from_verifier_string(vkey)) == checkpoint
    with pytest.raises(CheckpointError):
        parse_and_verify(SUMDB_NOTE.replace("6476701", "6476702"), name, public)


# --- our checkpoints ------------------------------------------------------------------------------------------------


def test_sign_and_verify_round_trip(key):
    for checkpoint in (Checkpoint("stayledger.audit/x", 7, ROOT, STAMP), Checkpoint("o", 0, ROOT)):
        note = sign_checkpoint(checkpoint, NAME, key)
        assert parse_and_verify(note, NAME, key.public_key()) == checkpoint
        assert note.startswith(checkpoint.body() + "\n\u2014 " + NAME + " ")
    name, public = public_key_from_verifier_string(verifier_key_string(NAME, key.public_key()))
    assert name == NAME and parse_and_verify(note, name, public) == checkpoint


def test_the_note_has_the_c2sp_layout(key):
    note = sign_checkpoint(Checkpoint("example.org/log", 42, ROOT, STAMP), NAME, key)
    lines = note.split("\n")
    assert lines[:5] == ["example.org/log", "42", base64.b64encode(ROOT).decode(), f"timestamp {STAMP}", ""]
    assert lines[-1] == "" and len(lines) == 7
    dash, name, blob = lines[5].split(" ")
    raw = base64.b64decode(blob)
    assert (dash, name, len(raw), raw[:4]) == ("\u2014", NAME, 68, key_id(NAME, key.public_key()))


@pytest.mark.parametrize(("old", "new"), [
    ("\n42\n", "\n43\n"),  # size
    (base64.b64encode(ROOT).decode(), base64.b64encode(bytes(32)).decode()),  # root
    ("example.org/log\n", "example.org/lag\n"),  # origin
    (STAMP, "2026-01-31T12:00:01Z"),  # timestamp
])
def test_tampering_with_any_line_is_refused(key, old, new):
    note = sign_checkpoint(Checkpoint("example.org/log", 42, ROOT, STAMP), NAME, key)
    assert old in note
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(note.replace(old, new, 1), NAME, key.public_key())


def test_tampering_with_the_signature_is_refused(key):
    note = sign_checkpoint(Checkpoint("example.org/log", 42, ROOT, STAMP), NAME, key)
    head, blob = note.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    for position in (0, 10, 67):  # the key id, the signature's R, its S
        changed = bytearray(raw)
        changed[position] ^= 1
        with pytest.raises(CheckpointError):
            parse_and_verify(f"{head} {base64.b64encode(bytes(changed)).decode()}\n", NAME, key.public_key())
    with pytest.raises(CheckpointError):
        parse_and_verify(f"{head} {base64.b64encode(bytes(raw[:-1])).decode()}\n", NAME, key.public_key())


def test_another_key_or_name_is_not_trusted(key):
    note = sign_checkpoint(Checkpoint("example.org/log", 42, ROOT), NAME, key)
    other = Ed25519PrivateKey.generate().public_key()
    for name, public in ((NAME, other), ("someone-else", key.public_key())):
        with pytest.raises(CheckpointError, match="no signature by the trusted key"):
            parse_and_verify(note, name, public)


def test_other_signatures_are_ignored_but_our_key_must_sign(key):
    checkpoint = Checkpoint("example.org/log", 42, ROOT, STAMP)
    note = sign_checkpoint(checkpoint, NAME, key)
    witness = Ed25519PrivateKey.generate()
    cosigned = note + sign_note(checkpoint.body(), "witness.example", witness).split("\n\n", 1)[1]
    assert parse_and_verify(cosigned, NAME, key.public_key()) == checkpoint
    assert parse_and_verify(cosigned, "witness.example", witness.public_key()) == checkpoint
    only_witness = sign_note(checkpoint.body(), "witness.example", witness)
    with pytest.raises(CheckpointError, match="no signature by the trusted key"):
        parse_and_verify(only_witness, NAME, key.public_key())


@pytest.mark.parametrize("body", [
    f"o\n042\n{base64.b64encode(ROOT).decode()}\n",  # leading zero
    f"o\n00\n{base64.b64encode(ROOT).decode()}\n",
    f"o\n+42\n{base64.b64encode(ROOT).decode()}\n",
    f"o\n 42\n{base64.b64encode(ROOT).decode()}\n",
    f"o\n4_2\n{base64.b64encode(ROOT).decode()}\n",
    f"o\n\u0664\u0662\n{base64.b64encode(ROOT).decode()}\n",  # Arabic-Indic digits: int() would take them
    f"o\n-1\n{base64.b64encode(ROOT).decode()}\n",
    f"o\n{2**64}\n{base64.b64encode(ROOT).decode()}\n",
    f"o\n42\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",  # unpadded
    f"o\n42\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31 bytes
    "o\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",  # non-canonical final character
    "o\n42\n",  # no root
    f"\n42\n{base64.b64encode(ROOT).decode()}\n",  # empty origin
    f"o\n42\n{base64.b64encode(ROOT).decode()}\nsomething else\n",  # an extension we do not know
    f"o\n42\n{base64.b64encode(ROOT).decode()}\ntimestamp {STAMP}\ntimestamp {STAMP}\n",
    f"o\n42\n{base64.b64encode(ROOT).decode()}\n\ntimestamp {STAMP}\n",  # an empty line
    f"o\n42\n{base64.b64encode(ROOT).decode()}\ntimestamp 2026-01-31 12:00:00Z\n",
    f"o\n42\n{base64.b64encode(ROOT).decode()}\ntimestamp 2026-01-31T12:00:00+01:00\n",
    f"o\n42\n{base64.b64encode(ROOT).decode()}\ntimestamp 2026-02-30T12:00:00Z\n",
])
def test_a_correctly_signed_but_non_canonical_checkpoint_is_refused(key, body):
    note = sign_note(body, NAME, key)
    assert open_note(note, NAME, key.public_key()) == body  # the signature is fine; the content is not
    with pytest.raises(CheckpointError):
        parse_and_verify(note, NAME, key.public_key())


def test_leading_zeros_are_named_in_the_error(key):
    note = sign_note(f"o\n0042\n{base64.b64encode(ROOT).decode()}\n", NAME, key)
    with pytest.raises(CheckpointError, match="leading zeros"):
        parse_and_verify(note, NAME, key.public_key())


@pytest.mark.parametrize("kwargs", [
    {"origin": ""}, {"origin": "two\nlines"}, {"origin": "tab\there"}, {"tree_size": -1}, {"tree_size": 2**64},
    {"tree_size": True}, {"root_hash": ROOT[:31]}, {"root_hash": ROOT.hex()}, {"timestamp": "yesterday"},
    {"timestamp": STAMP + "\nsize 0"}, {"timestamp": "2026-01-31T12:00:00.123Z\n"},
])
def test_a_checkpoint_that_could_not_be_read_back_is_not_made(kwargs):
    fields = {"origin": "o", "tree_size": 1, "root_hash": ROOT, "timestamp": STAMP} | kwargs
    with pytest.raises(CheckpointError):
        Checkpoint(**fields)


@pytest.mark.parametrize("name", ["", "two words", "a+b", "tab\tname", "line\nname", "nbsp\u00a0name"])
def test_key_names_follow_the_signed_note_rules(key, name):
    with pytest.raises(CheckpointError):
        sign_checkpoint(Checkpoint("o", 1, ROOT), name, key)
    with pytest.raises(CheckpointError):
        verifier_key_string(name, key.public_key())


origins = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1, max_size=40)
stamps = st.datetimes().map(lambda moment: moment.isoformat(timespec="seconds") + "Z")


@settings(max_examples=60, deadline=None)
@given(origins, st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32), st.none() | stamps)
def test_any_checkpoint_round_trips(key, origin, size, root, stamp):
    checkpoint = Checkpoint(origin, size, root, stamp)
    assert parse_and_verify(sign_checkpoint(checkpoint, NAME, key), NAME, key.public_key()) == checkpoint


# --- the signing key file ---------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_is_created_private_and_then_reused(tmp_path):
    path = tmp_path / "deep" / "keys" / "audit.pem"
    first = load_or_create_signing_key(path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
    assert b"BEGIN PRIVATE KEY" in path.read_bytes()  # PKCS#8, unencrypted
    second = load_or_create_signing_key(path)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert first.public_key().public_bytes(*raw) == second.public_key().public_bytes(*raw)
    assert sorted(p.name for p in path.parent.iterdir()) == ["audit.pem"]  # no temporary files left behind


def test_an_existing_directory_keeps_its_mode(tmp_path):
    tmp_path.chmod(0o755)
    load_or_create_signing_key(tmp_path / "audit.pem")
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "audit.pem") == 0o600


def test_processes_racing_to_create_the_key_all_get_the_one_on_disk(tmp_path):
    path = tmp_path / "keys" / "audit.pem"
    start = threading.Barrier(8)
    found: list[bytes] = []

    def create() -> None:
        start.wait()
        key = load_or_create_signing_key(path)
        found.append(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk = load_or_create_signing_key(path).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert found == [on_disk] * 8
    assert [p.name for p in path.parent.iterdir()] == ["audit.pem"]


@pytest.mark.parametrize("content", [
    b"not a key",
    ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")),
])
def test_a_key_file_that_is_not_an_unencrypted_ed25519_key_is_an_error(tmp_path, content):
    path = tmp_path / "audit.pem"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        load_or_create_signing_key(path)
    assert path.read_bytes() == content  # never replaced

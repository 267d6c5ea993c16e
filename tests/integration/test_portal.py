"""The traveller portal without a browser: catalogs whole, language choice, headers, the API's guards and audit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from stayledger.api.app import create_app
from stayledger.api.pages.i18n import LANGUAGES, LOCALE_DIR, choose
from stayledger.api.pages.messages import source_messages
from stayledger.audit.log import parse_entry
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.audit import Signer
from tests.access import ADMIN
from tests.integration.test_review import ARRIVAL

IDENTITY = {"document_number": "H8151480", "document_issuer": "IND", "date_of_birth": "2004-12-07", "surname": "Mishra"}
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.fixture
def portal(tmp_path: Path):
    from stayledger.formats.canonical import RawRecord
    from stayledger.usecases.ingest import ingest_records
    from stayledger.usecases.resolve import resolve_identities

    store = DuckDBStore(tmp_path / "portal.duckdb")
    ingest_records(store, ADMIN, "seed", [RawRecord("line 1", json.dumps(ARRIVAL), ARRIVAL)])
    resolve_identities(store, ADMIN)
    app = create_app(store, Signer(Ed25519PrivateKey.generate()), per_client=1000, per_document=3, traveller_floor=0.0)
    with TestClient(app) as client:
        yield client, store
    store.close()


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
def test_each_catalog_translates_every_string_and_keeps_its_placeholders(code):
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp)
    for message in source_messages():
        entry = catalog.get(message)
        assert entry is not None and entry.string, f"{code}: no translation of {message!r}"
        assert sorted(PLACEHOLDER.findall(entry.string)) == sorted(PLACEHOLDER.findall(message)), f"{code}: {message!r}"


def test_the_catalogs_are_package_data():
    """A `pip install .` ships templates, stylesheet and catalogs (the globs in pyproject.toml name them)."""
    import tomllib

    globs = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["stayledger"]
    root = Path(__file__).parents[2] / "src" / "stayledger"
    shipped = {p for g in globs for p in root.glob(g)}
    pages = root / "api" / "pages"
    needed = [*pages.glob("templates/*.html"), *pages.glob("static/*"), *pages.glob("locale/*/LC_MESSAGES/*.po")]
    assert needed and not [p for p in needed if p not in shipped]


def test_the_language_comes_from_the_link_then_the_browser_then_english():
    assert choose("ar", "fr-FR,fr;q=0.9") == "ar"
    assert choose("zh-Hans", None) == "zh"
    assert choose(None, "de-DE,de;q=0.9,es;q=0.8,en;q=0.5") == "es"
    assert choose("xx", "tlh") == "en"


def test_pages_forbid_other_origins_and_scripts(portal):
    client, _ = portal
    answer = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "http" not in policy
    assert 'lang="zh-Hans"' in answer.text and "<script" not in answer.text
    assert not re.search(r"(src|href)=\"(https?:)?//", answer.text)


def test_status_gives_the_reason_with_dates_in_the_readers_language(portal):
    client, _ = portal
    answer = client.post("/status?lang=es", data=IDENTITY)
    assert "Llegó el 11 de marzo de 2024" in answer.text


def test_a_miss_and_a_wrong_surname_look_the_same(portal):
    client, _ = portal
    wrong_surname = client.post("/status?lang=fr", data={**IDENTITY, "surname": "Misra"})
    unknown = client.post("/status?lang=fr", data={**IDENTITY, "document_number": "Z9999999"})
    assert wrong_surname.status_code == unknown.status_code == 200
    assert wrong_surname.text == unknown.text


def test_the_portal_shares_the_apis_per_document_limit(portal):
    client, _ = portal
    for _ in range(2):
        assert client.post("/v1/traveller/status", json=IDENTITY).status_code == 200
    assert client.post("/status?lang=ar", data=IDENTITY).status_code == 200
    refused = client.post("/status?lang=ar", data=IDENTITY)
    assert refused.status_code == 429 and 'dir="rtl"' in refused.text
    assert client.post("/v1/traveller/status", json=IDENTITY).status_code == 429


def test_a_portal_lookup_is_audited_as_the_apis_is(portal):
    client, store = portal
    client.post("/status", data=IDENTITY)
    entries = [parse_entry(text) for _, text, _ in store.audit_rows()]
    assert entries[-1]["action"] == "traveller.status" and entries[-1]["role"] == "traveller"
    assert "H8151480" not in json.dumps(entries[-1])  # the identity typed is not written down


def test_bad_input_is_refused_in_the_readers_language(portal):
    client, _ = portal
    answer = client.post("/status?lang=fr", data={**IDENTITY, "document_issuer": "INDIA"})
    assert answer.status_code == 422 and "Vérifiez ce que vous avez saisi" in answer.text
    assert "document_issuer" in answer.text

"""The traveller portal in a real browser: every language, right to left in Arabic, and the two end-to-end flows."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from stayledger.domain.access import Role
from tests.browser.conftest import IDENTITY, shot

HEADINGS = {"en": "Your stay", "es": "Su estancia", "fr": "Votre séjour", "ar": "إقامتك", "zh": "您的停留"}


def fill_identity(page, form: str) -> None:
    for field, value in IDENTITY.items():
        page.fill(f"#{form}-{field}", value)


@pytest.mark.parametrize("lang", sorted(HEADINGS))
def test_the_portal_speaks_each_language_and_arabic_reads_right_to_left(service, phone, lang):
    phone.goto(f"{service.url}/?lang={lang}")
    assert phone.locator("h1").inner_text() == HEADINGS[lang]
    assert phone.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    assert phone.evaluate("getComputedStyle(document.body).direction") == ("rtl" if lang == "ar" else "ltr")
    # Nothing wider than the phone: no sideways scrolling.
    width = phone.locator("body").bounding_box()["width"]
    assert width <= 360
    shot(phone, f"portal-{lang}")


def test_the_browser_language_is_followed_and_the_switcher_changes_it(service, browser):
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    page.goto(service.url + "/")
    assert page.locator("h1").inner_text() == "Votre séjour"
    page.click("text=العربية")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("h1").inner_text() == "إقامتك"
    context.close()


def test_status_in_french_gives_the_reason_and_the_date_as_french_readers_write_it(service, phone):
    phone.goto(f"{service.url}/?lang=fr")
    fill_identity(phone, "status")
    phone.click("#h-status ~ form button[type=submit]")
    text = phone.locator("main").inner_text()
    assert "Séjour à partir du 11 mars 2026" in text
    assert "10 septembre 2026" in text
    shot(phone, "status-fr")


def test_a_reported_departure_is_confirmed_once_the_carrier_manifest_arrives(service, phone):
    phone.goto(f"{service.url}/?lang=es")
    fill_identity(phone, "departure")
    phone.fill("#departed_on", "2026-04-20")
    phone.click("#h-departure ~ form button[type=submit]")
    status = phone.locator(".receipt-status")
    assert status.get_attribute("data-status") == "reported"
    receipt = phone.locator("dd.mono").first.inner_text()
    shot(phone, "receipt-reported-es")

    exit_record = {"event_id": "APIS-77", "kind": "departure", "occurred_on": "2026-04-20", "source": "carrier",
                   "surname": "MISHRA", "given_names": "GAURAV", "date_of_birth": "2004-12-07", "sex": "M",
                   "nationality": "IND", "document_number": "H8151480", "mode": "air"}
    answer = httpx.post(f"{service.url}/v1/events", json=[exit_record],
                        headers={"Authorization": f"Bearer {service.tokens[Role.INGEST]}"})
    assert answer.status_code == 200, answer.text
    phone.click("text=Volver a consultar este justificante más tarde")
    assert phone.locator(".receipt-status").get_attribute("data-status") == "confirmed"
    assert receipt in phone.url
    shot(phone, "receipt-confirmed-es")


def test_a_correction_accepted_by_an_officer_is_shown_to_the_traveller(service, phone):
    phone.goto(f"{service.url}/?lang=zh")
    fill_identity(phone, "correction")
    phone.select_option("#field", "given_names")
    phone.fill("#claimed_value", "GAURAV KUMAR")
    phone.fill("#explanation", "My passport gives both given names.")
    phone.click("form[action^='/correction'] button[type=submit]")
    assert phone.locator(".case-state").get_attribute("data-state") == "open"
    shot(phone, "case-open-zh")
    case_id = phone.locator("dd.mono").nth(0).inner_text()

    officer = {"Authorization": f"Bearer {service.tokens[Role.OFFICER]}"}
    decided = httpx.post(f"{service.url}/v1/cases/{case_id}/decision", headers=officer,
                         params={"purpose": "traveller correction request", "case_ref": case_id},
                         json={"decision": "accept", "reasons": "The passport scan shows GAURAV KUMAR."})
    assert decided.status_code == 200, decided.text

    phone.click("text=查询我的申请")
    assert phone.locator(".case-state").get_attribute("data-state") == "accepted"
    assert "GAURAV KUMAR" in phone.locator(".decision").inner_text()
    assert str(datetime.now(timezone.utc).year) in phone.locator("main").inner_text()
    shot(phone, "case-accepted-zh")


def test_the_traveller_sees_who_looked_at_the_record_in_arabic(service, phone):
    officer = {"Authorization": f"Bearer {service.tokens[Role.OFFICER]}"}
    found = httpx.get(f"{service.url}/v1/persons", headers=officer,
                      params={"document_number": "H8151480", "purpose": "secondary inspection", "case_ref": "INS-4"})
    assert found.status_code == 200, found.text
    phone.goto(f"{service.url}/?lang=ar")
    fill_identity(phone, "log")
    phone.click("#h-log ~ form button[type=submit]")
    table = phone.locator("table").inner_text()
    assert "secondary inspection" in table and "موظف الحدود" in table
    shot(phone, "access-log-ar")

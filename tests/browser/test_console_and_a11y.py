"""The staff console in a real browser, and axe-core (vendored, tests only) over every page built here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from stayledger.domain.access import Role
from stayledger.domain.stays import Status
from tests.browser.conftest import IDENTITY, shot

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")


def sign_in(page, service, role: Role) -> None:
    page.goto(service.url + "/console/login")
    page.fill("#token", service.tokens[role])
    page.press("#token", "Enter")  # keyboard only
    page.wait_for_url(service.url + "/console")


def test_an_officer_finds_a_person_with_a_purpose_and_sees_the_stays(service, browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in(page, service, Role.OFFICER)
    page.click("text=Find a person")
    page.fill("#document_number", "H8151480")
    page.fill("#purpose", "secondary inspection")
    page.click("main button[type=submit]")
    assert "BRD-7" in page.locator("main").inner_text()
    assert page.locator(".stay .status").first.inner_text() in {s.value for s in Status}
    shot(page, "console-person")
    context.close()


def test_an_auditor_sees_the_verification_verdict(service, browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in(page, service, Role.AUDITOR)
    page.click("text=Audit log")
    assert page.locator(".verdict").get_attribute("class") == "verdict ok"
    shot(page, "console-audit")
    context.close()


def test_an_analyst_sees_the_styled_overstay_report(service, browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, service, Role.ANALYST)
    page.click("text=Overstay report")
    assert page.locator("h1").inner_text().startswith("Overstay report, fiscal year")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0 and page.locator("text=reload for the latest").count() == 1
    assert blocked == []  # the briefing's inline stylesheet is allowed by its hash
    shot(page, "console-report")
    context.close()


def test_an_analyst_sees_live_figures_update_in_place_and_can_pause_them(service, browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.clock.install()  # the page's 30-second timer runs on a clock the test moves
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    today = datetime.now(timezone.utc).date()

    def post_arrival(n: int) -> None:
        arrival = {"event_id": f"BRD-FIG-{n}", "kind": "arrival", "occurred_on": today.isoformat(),
                   "admitted_until": (today + timedelta(days=180)).isoformat(), "source": "border", "surname": "ODUYA",
                   "given_names": "AMARA", "date_of_birth": "1991-06-02", "sex": "F", "nationality": "NGA",
                   "document_number": f"A0991234{n}", "admission_class": "B2", "mode": "air"}
        posted = httpx.post(f"{service.url}/v1/events", json=[arrival],
                            headers={"Authorization": f"Bearer {service.tokens[Role.INGEST]}"})
        assert posted.status_code == 200 and posted.json().get("quarantined") in (0, None, []), posted.text

    post_arrival(1)
    sign_in(page, service, Role.ANALYST)
    page.click("text=Live figures")
    assert page.locator("h1").inner_text().startswith("Live figures for")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0  # nothing reloads the page under the reader
    assert page.locator("#live-controls").is_visible() and not page.locator("#live-no-script").is_visible()
    before = int(page.locator("#events-today").inner_text())
    assert before >= 1 and "ODUYA" not in page.content()
    shot(page, "console-figures")

    post_arrival(2)
    page.clock.run_for("00:31")
    expect(page.locator("#events-today")).to_have_text(str(before + 1))
    assert page.locator("#live-updated").inner_text().startswith("Updated at")

    page.focus("#live-toggle")  # WCAG 2.2.2: the reader can pause it, by keyboard too
    page.keyboard.press("Enter")
    assert page.locator("#live-toggle").get_attribute("aria-pressed") == "true"
    post_arrival(3)
    page.clock.run_for("01:05")
    page.wait_for_timeout(300)
    assert int(page.locator("#events-today").inner_text()) == before + 1  # paused: the figures stay as they were
    assert blocked == []
    context.close()


def test_without_script_the_figures_page_says_how_to_see_newer_figures(service, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in(page, service, Role.ANALYST)  # a plain form: no script needed
    page.goto(service.url + "/console/figures")
    assert page.locator("#live-no-script").is_visible() and not page.locator("#live-controls").is_visible()
    context.close()


def test_an_auditor_filters_by_actor_and_sees_the_signed_checkpoint(service, browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in(page, service, Role.AUDITOR)
    page.click("text=Audit log")
    assert page.locator("#checkpoint").inner_text().count("\n") >= 3  # origin, size, root hash, signature
    page.fill("#actor", "auditor-1")
    page.click("main form button[type=submit]")
    actors = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert actors and set(actors) == {"auditor-1"}
    shot(page, "console-audit-filtered")
    context.close()


def violations(page) -> list[str]:
    page.add_script_tag(content=AXE)
    found = page.evaluate("async () => (await axe.run(document)).violations"
                          ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    return [f"{v['id']} ({v['impact']}, {v['nodes']} nodes)" for v in found if v["impact"] in ("serious", "critical")]


def test_axe_does_find_a_violation_when_there_is_one(browser):
    """The check below is only worth something if axe runs: an unlabelled field is a critical violation."""
    page = browser.new_page()
    page.set_content('<!doctype html><html lang="en"><title>t</title><main><input></main></html>')
    assert any(v.startswith("label ") for v in violations(page))
    page.close()


PORTAL_PAGES = ["/?lang=en", "/?lang=ar", "/?lang=zh", "/case?case_id=NOPE&code=NOPE&lang=fr"]


@pytest.mark.parametrize("path", PORTAL_PAGES)
def test_portal_pages_have_no_serious_accessibility_violation(service, browser, path):
    context = browser.new_context(bypass_csp=True, viewport={"width": 360, "height": 740})  # to inject axe
    page = context.new_page()
    page.goto(service.url + path)
    assert violations(page) == []
    context.close()


def test_answer_pages_have_no_serious_accessibility_violation(service, browser):
    context = browser.new_context(bypass_csp=True, viewport={"width": 360, "height": 740})
    page = context.new_page()
    for form, extra in (("status", {}), ("log", {})):
        page.goto(service.url + "/?lang=es")
        for field, value in IDENTITY.items():
            page.fill(f"#{form}-{field}", value)
        page.click(f"form:has(#{form}-surname) button[type=submit]")
        assert violations(page) == [], form
    context.close()


def test_console_pages_have_no_serious_accessibility_violation(service, browser):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(service.url + "/console/login")
    assert violations(page) == []
    sign_in(page, service, Role.OFFICER)
    for path in ("/console", "/console/person", "/console/person?document_number=H8151480&purpose=a11y+check",
                 "/console/cases?purpose=a11y+check", "/console/person?person_id=NOBODY&purpose=a11y+check"):
        page.goto(service.url + path)
        assert violations(page) == [], path
    page.goto(service.url + "/console/person?document_number=H8151480&purpose=a11y+check")
    page.select_option("#fix-field-1", "given_names")
    page.fill("#fix-value-1", "GAURAV")
    page.click("form.correction button[type=submit]")
    assert page.locator("h1").inner_text() == "Correction recorded"
    shot(page, "console-corrected")
    assert violations(page) == [], "the correction's answer"
    context.close()


def test_the_reviewer_auditor_and_analyst_pages_have_no_serious_accessibility_violation(service, browser):
    for role, path in ((Role.REVIEWER, "/console/review"), (Role.AUDITOR, "/console/audit?actor=auditor-1"),
                       (Role.ANALYST, "/console/figures"), (Role.ANALYST, "/console/report")):
        context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
        page = context.new_page()
        sign_in(page, service, role)
        page.goto(service.url + path)
        assert violations(page) == [], path
        context.close()


def test_focus_is_visible_when_tabbing(service, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(service.url + "/?lang=en")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    context.close()

"""The review flow in a real browser (Debian's Chromium through Playwright) against a live service:
log in, open the queue, open a case, see media blurred, reveal one item and find its audit entry (as the
reviewer's receipt and on the auditor's page), then confirm the case."""

from __future__ import annotations

from pathlib import Path

from msgspec import structs
from playwright.sync_api import Browser, Dialog, Page, expect
from tests.e2e.browser.conftest import LiveService
from tests.e2e.service_world import OPERATOR, PASSWORD
from tests.fakes.ncmec import PASSWORD as NCMEC_PASSWORD
from tests.fakes.ncmec import USER, XSD, running_fake

from cordon.app.report_content import NcmecSettings
from cordon.respond.reports.client import CyberTipClient

A1 = "case-00000000000000a1"


def log_in(page: Page, base: str, name: str, target: str = "/queue") -> None:
    page.goto(base + target)
    expect(page).to_have_url(f"{base}/login?next={target.replace('?', '%3F').replace('=', '%3D')}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base + target)


def test_review_a_case_in_the_browser(live: LiveService, chromium: Browser, shots: Path) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    log_in(page, live.url, OPERATOR)
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("child-safety")
    page.screenshot(path=shots / "1-queue.png", full_page=True)

    page.get_by_role("link", name=A1).click()
    expect(page).to_have_url(f"{live.url}/cases/{A1}")
    expect(page.locator("#case-status")).to_have_text("open")
    sha = live.world.cases[0].media_queue[0].sha256
    figure = page.locator(f"#m-{sha}")
    blurred = figure.locator("img")
    expect(blurred).to_have_class("blurred")
    assert "blur" in blurred.evaluate("img => getComputedStyle(img).filter")
    assert blurred.evaluate("img => img.complete && img.naturalWidth > 0")  # the server's blurred preview
    graph = page.locator("img.graph")  # the network graph: an image of its own, loaded with the session
    expect(graph).to_be_visible()
    for _ in range(100):  # (polled: wait_for_function would need 'unsafe-eval')
        if graph.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(50)
    assert graph.evaluate("img => img.naturalWidth") == 640  # the SVG document, decoded as an image
    expect(page.locator("section svg.timeline")).to_be_visible()
    page.screenshot(path=shots / "2-case-blurred.png", full_page=True)

    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    figure.get_by_role("button", name="Reveal (logged)").click()
    receipt = page.locator(f"#m-{sha} .audit-receipt")
    expect(receipt).to_contain_text(f"revealed by {OPERATOR}")
    assert dialogs and "logged" in dialogs[0]
    seq = int(receipt.get_attribute("data-audit-seq") or 0)
    revealed = page.locator(f"#m-{sha} img")
    expect(revealed).to_have_class("greyscale")
    for _ in range(100):  # (wait_for_function would need 'unsafe-eval', which the page's CSP forbids)
        if revealed.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(50)
    assert revealed.evaluate("img => img.naturalWidth") == 96  # the item itself, at its own size
    assert "grayscale" in revealed.evaluate("img => getComputedStyle(img).filter")
    page.screenshot(path=shots / "3-revealed.png", full_page=True)
    entry = next(e for e in live.world.service.store.audit_entries() if e.seq == seq)
    assert (entry.actor, entry.action, entry.subject) == (OPERATOR, "media.reveal", f"media:{sha}")

    # the auditor sees the same entry in the audit log page
    auditor = chromium.new_context().new_page()
    log_in(auditor, live.url, "auditor", "/audit")
    row = auditor.locator("table.audit tr", has_text=f"media:{sha[:34]}")
    expect(row.first).to_contain_text(OPERATOR)
    expect(row.first.locator("td").first).to_have_text(str(seq))
    expect(auditor.locator("p.verdict")).to_contain_text("intact")
    auditor.screenshot(path=shots / "4-audit.png", full_page=True)

    page.select_option("select[name=decision]", "confirm")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#case-status")).to_have_text("confirmed")
    expect(page.locator("#events")).to_contain_text(f"confirm by {OPERATOR}")
    page.screenshot(path=shots / "5-confirmed.png", full_page=True)
    assert live.world.service.store.status(A1) == "confirmed"
    context.close()


def test_media_is_never_served_to_a_browser_without_a_session(live: LiveService, chromium: Browser) -> None:
    page = chromium.new_page()
    sha = live.world.cases[0].media_queue[0].sha256
    for path in (f"/api/v1/cases/{A1}/media/{sha}", f"/api/v1/cases/{A1}/media/{sha}/preview"):
        response = page.goto(live.url + path)
        assert response is not None and response.status == 401
        assert response.headers["content-type"].startswith("application/json")
    page.goto(f"{live.url}/cases/{A1}")
    expect(page).to_have_url(f"{live.url}/login?next=/cases/{A1}")
    page.close()


def test_respond_to_a_case_in_the_browser(live: LiveService, chromium: Browser, shots: Path) -> None:
    """Confirm, preserve, act (dry run) on every member, place a police hold, build a police export, and
    report to NCMEC (draft, another person's approval, send)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    log_in(page, live.url, OPERATOR, f"/cases/{A1}")
    act = page.locator("#act-form")
    act.get_by_role("button", name="Act on the network").click()  # before the review: refused, and why
    expect(page.locator("body")).to_contain_text("only a confirmed case is acted on")
    page.goto(f"{live.url}/cases/{A1}")
    page.select_option("select[name=decision]", "confirm")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#case-status")).to_have_text("confirmed")

    act.get_by_role("button", name="Act on the network").click()  # confirmed, not preserved: refused
    expect(page.locator("body")).to_contain_text("no action before the evidence is preserved")
    page.goto(f"{live.url}/cases/{A1}")
    page.locator("#preserve-form").get_by_role("button", name="Preserve evidence").click()
    expect(page.locator("#preservations li").first).to_contain_text("verified")
    expect(page.locator("#preservations li").first).to_contain_text(f"copies by {OPERATOR}")

    expect(act.locator("select[name=mode]")).to_have_value("dry-run")  # the default sends nothing
    act.locator("select[name=verb]").select_option("suspend")
    act.get_by_role("button", name="Act on the network").click()
    members = [m.account_id for m in live.world.cases[0].case.members]
    items = page.locator("#actions li")
    expect(items).to_have_count(len(members))
    expect(items.first).to_contain_text("(dry run): dry-run")
    page.screenshot(path=shots / "1-preserved-and-dry-run.png", full_page=True)
    assert live.world.service.store.status(A1) == "confirmed"  # a dry run does not action the case

    hold = page.locator("#hold-form")
    hold.locator("select[name=kind]").select_option("police")
    hold.locator("input[name=reference]").fill("req-2024-17")
    hold.get_by_role("button", name="Place hold").click()
    expect(page.locator("#holds li").first).to_contain_text("police until")
    expect(page.locator("#holds li").first).to_contain_text("req-2024-17")

    page.locator("#export-form").get_by_role("button", name="Build export").click()
    link = page.locator("#reports a", has_text="download")
    expect(link).to_have_count(1)
    with page.expect_download() as download:
        link.click()
    saved = shots / "police-export.zip"
    download.value.save_as(saved)
    from cordon.respond.export import verify_export  # noqa: PLC0415

    assert verify_export(saved, live.world.service.key.public).ok
    page.screenshot(path=shots / "2-hold-and-export.png", full_page=True)
    kinds = [e.action for e in live.world.service.store.audit_entries()]
    assert {"evidence.preserve", "action.dry-run", "hold.place", "export.build", "export.download"} <= set(
        kinds
    )
    saved.unlink()  # the export zip holds case records: not kept among the artefacts

    # a CyberTipline report: drafted by the operator, approved by another person, sent to the (fake) NCMEC
    with running_fake() as fake:
        svc = live.world.service
        svc.settings = structs.replace(svc.settings, ncmec=NcmecSettings(
            base_url=fake.url, xsd=str(XSD), first_name="Ada", last_name="Lovelace", email="ts@social.example"))  # fmt: skip
        svc.report_client = lambda s: CyberTipClient(s.base_url, USER, NCMEC_PASSWORD, retries=0)
        page.locator("#report-form").get_by_role("button", name="Draft NCMEC CyberTipline report").click()
        row = page.locator("#reports li", has_text="ncmec")
        expect(row.locator(".report-status")).to_have_text("draft")
        expect(row.get_by_role("button", name="Approve report")).to_have_count(
            1
        )  # ops may approve others' drafts
        approver = chromium.new_context().new_page()
        log_in(approver, live.url, "approver", f"/cases/{A1}")
        approver.locator("#reports li", has_text="ncmec").get_by_role("button", name="Approve report").click()
        expect(approver.locator("#reports li", has_text="ncmec").locator(".report-status")).to_have_text(
            "approved"
        )
        page.goto(f"{live.url}/cases/{A1}")
        row.get_by_role("button", name="Send to NCMEC").click()
        expect(row.locator(".report-status")).to_have_text("finished")
        expect(row).to_contain_text("NCMEC report 4564654")
        expect(page.locator("#case-status")).to_have_text("reported")
        expect(page.locator("#holds li", has_text="ncmec")).to_contain_text("CyberTipline 4564654")
        page.screenshot(path=shots / "3-reported.png", full_page=True)
        assert fake.reports["4564654"].status == "finished" and fake.reports["4564654"].files
    context.close()

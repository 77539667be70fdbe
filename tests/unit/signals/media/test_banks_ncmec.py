"""NCMEC hash sharing through python-threatexchange's client, against a loopback fake of its XML API.

The responses follow the shapes of NCMEC's documented v2 API (namespaced XML, ``images``/``videos`` with
``deleted*`` tombstones, ``paging/next``); all hashes and names are synthetic tokens.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("threatexchange")
from pytest_httpserver import HTTPServer

from cordon.app.matching import sync_ncmec
from cordon.errors import BankError, ConfigError
from cordon.model import BankCategory, HashAlgo
from cordon.signals.media.banks import BankStore
from cordon.signals.media.ncmec_hashsharing import fetch_ncmec_updates

NS = "https://hashsharing.ncmec.org/hashsharing/v2"
MD5_1, SHA1_1, PDQ_1 = "a1" * 16, "b1" * 20, "c1" * 32
MD5_2 = "d2" * 16


def _page(images: str, videos: str = "", next_: str = "") -> str:
    paging = f"<paging><next>{next_}</next></paging>" if next_ else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><queryResult xmlns="{NS}">'
        f'<images count="2" maxTimestamp="2024-03-01T10:00:00Z">{images}</images>'
        f'<videos count="1" maxTimestamp="2024-03-02T10:00:00Z">{videos}</videos>{paging}</queryResult>'
    )


PAGE_1 = _page(
    images=(
        '<image><member id="42">Synthetic Member</member><timestamp>2024-03-01T09:00:00Z</timestamp>'
        f"<id>img-1</id><classification>A1</classification><fingerprints><md5>{MD5_1}</md5>"
        f"<sha1>{SHA1_1}</sha1><pdq>{PDQ_1}</pdq><pdna>opaque-token</pdna></fingerprints></image>"
        '<deletedImage><member id="42">Synthetic Member</member><id>img-old</id>'
        "<timestamp>2024-03-01T10:00:00Z</timestamp></deletedImage>"
    ),
    next_="/v2/entries?from=2024-01-01T00%3A00%3A00Z&amp;to=2024-04-01T00%3A00%3A00Z&amp;start=2&amp;size=1&amp;max=2",
)
PAGE_2 = _page(
    images="",
    videos=(
        '<video><member id="7">Other Member</member><timestamp>2024-03-02T10:00:00Z</timestamp>'
        f"<id>vid-1</id><fingerprints><md5>{MD5_2}</md5></fingerprints></video>"
    ),
)


# the query of PAGE_1's `next` link, which the client must follow verbatim (a dict matches the whole query)
NEXT_QUERY = {
    "from": "2024-01-01T00:00:00Z",
    "to": "2024-04-01T00:00:00Z",
    "start": "2",
    "size": "1",
    "max": "2",
}


def _serve(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/entries", query_string=NEXT_QUERY, method="GET").respond_with_data(
        PAGE_2, content_type="application/xml"
    )
    httpserver.expect_request("/v2/entries", method="GET").respond_with_data(
        PAGE_1, content_type="application/xml"
    )


def test_fetch_reads_every_page_keeps_media_fingerprints_and_deletions(httpserver: HTTPServer) -> None:
    _serve(httpserver)
    updates = fetch_ncmec_updates("user", "secret", base_url=httpserver.url_for(""))
    got = {(e.entry_id, e.algo, e.value) for e in updates.columns.entries("ncmec")}
    assert got == {
        ("42-img-1", HashAlgo.MD5, MD5_1),
        ("42-img-1", HashAlgo.SHA1, SHA1_1),
        ("42-img-1", HashAlgo.PDQ, PDQ_1),
        ("7-vid-1", HashAlgo.MD5, MD5_2),
    }
    assert updates.deleted_ids == ("42-img-old",)
    assert updates.pages == 2
    assert updates.skipped_fingerprints == 1  # the PhotoDNA token
    entries = updates.columns.entries("ncmec")
    assert {e.category for e in entries} == {BankCategory.CHILD_SAFETY}
    assert "classification=A1" in next(e.note for e in entries if e.entry_id == "42-img-1")
    # the client authenticates with HTTP basic auth on every request
    assert all(req.authorization is not None for req, _ in httpserver.log)


def test_sync_stores_a_new_version_and_applies_deletions(httpserver: HTTPServer, tmp_path: Path) -> None:
    _serve(httpserver)
    store = BankStore(tmp_path)
    from cordon.model import BankEntry  # noqa: PLC0415
    from cordon.signals.media.bank_formats import EntryColumns  # noqa: PLC0415

    old = EntryColumns.from_entries(
        [BankEntry("ncmec", "42-img-old", HashAlgo.MD5, "ee" * 16, BankCategory.CHILD_SAFETY)]
    )
    store.import_entries("ncmec", old, category=BankCategory.CHILD_SAFETY)
    version = sync_ncmec(
        store, name="ncmec", username="user", password="secret", base_url=httpserver.url_for("")
    )
    assert (version.version, version.added, version.removed, version.entries) == (2, 4, 1, 4)
    assert store.bank("ncmec").source.startswith("ncmec:Industry:")


def test_http_errors_and_missing_credentials_are_named(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/entries").respond_with_data("denied", status=401)
    with pytest.raises(BankError, match="NCMEC hash sharing"):
        fetch_ncmec_updates("user", "wrong", base_url=httpserver.url_for(""))
    with pytest.raises(ConfigError, match="password"):
        fetch_ncmec_updates("user", "", base_url=httpserver.url_for(""))
    with pytest.raises(ConfigError, match="environment"):
        fetch_ncmec_updates("user", "x", environment="Nowhere")


def test_a_server_that_repeats_its_paging_link_is_stopped(httpserver: HTTPServer) -> None:
    # every request gets PAGE_1, whose `next` link points at the same query again: without a guard the
    # client's iterator would page for ever
    httpserver.expect_request("/v2/entries", method="GET").respond_with_data(
        PAGE_1, content_type="application/xml"
    )
    with pytest.raises(BankError, match="links back to an earlier page"):
        fetch_ncmec_updates("user", "secret", base_url=httpserver.url_for(""))
    assert len(httpserver.log) == 2

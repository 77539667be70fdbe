"""What a CyberTipline report says about a case preserved from a real DuckDB corpus, on SQLite and PostgreSQL:
each member's captured profile (handle, display name, URL, bio, creation date), the platform's own
suspension, earlier finished reports naming the account, the case as its group; each file's own first post
time and visibility; and the file details NCMEC receives. Media are procedural noise images; ids and tags are
synthetic tokens.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pytest
from lxml import etree
from PIL import Image
from tests.fakes.ncmec import PASSWORD, USER, XSD, FakeNcmec, running_fake

from cordon.app import report_content, reports, response
from cordon.app.dossier import DayCount, Dossier, QueuedMedia
from cordon.app.report_content import NcmecSettings
from cordon.corpus import BlobStore, DuckDBCorpus
from cordon.model import (
    Account,
    Case,
    CaseLabel,
    CaseMember,
    EvidenceItem,
    Media,
    MediaKind,
    MediaLink,
    MediaRef,
    ModerationAction,
    ModerationEvent,
    Platform,
    Post,
    RecordBatch,
    Subject,
)
from cordon.respond import review
from cordon.respond.access import Principal, Role
from cordon.respond.evidence import SigningKey
from cordon.respond.reports.client import CyberTipClient
from cordon.respond.reports.cybertip import (
    INCIDENT_TYPES,
    CyberTipReport,
    ReportedAccount,
    ReportingPerson,
    report_xml,
    validate,
)
from cordon.respond.state.store import StateStore
from cordon.respond.state.tables import ReportRow

CASE = "case-content1"
MEMBERS = ("1001", "1002", "1003")
ROLES = ("poster", "amplifier", "amplifier")
VISIBILITY = ("public", "private", "")  # of each member's post with media
T0 = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
CREATED = datetime(2021, 3, 4, 5, 6, tzinfo=UTC)
SUSPENDED = datetime(2024, 5, 12, 9, 0, tzinfo=UTC)
SERVICE = "Mastodon (social.example)"
REPORTER = Principal("u-rep", "rep", frozenset({Role.REPORTER}), "cli")
APPROVER = Principal("u-app", "app", frozenset({Role.APPROVER}), "cli")


def noise_png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8), "RGB").save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class World:
    store: StateStore
    corpus: DuckDBCorpus
    blobs: BlobStore
    key: SigningKey
    evidence: Path
    shas: tuple[str, ...]  # the media of members 1001, 1002, 1003 (1001's and 1003's matched the bank)


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> Iterator[World]:
    blobs = BlobStore(tmp_path / "blobs")
    data = [noise_png(s) for s in range(3)]
    shas = tuple(hashlib.sha256(d).hexdigest() for d in data)
    for sha, d in zip(shas, data, strict=True):
        blobs.put(sha, d)
    accounts = tuple(
        Account(Platform.MASTODON, a, f"u{a}", acct=f"u{a}", display_name=f"Name {a}", bio=f"bio of {a}",
                created_at=CREATED + timedelta(days=n), url=f"https://social.example/@u{a}")
        for n, a in enumerate(MEMBERS)
    )  # fmt: skip
    posts, links = [], []
    for n, author in enumerate(MEMBERS):
        ref = MediaRef(
            Platform.MASTODON, f"m{n}", MediaKind.IMAGE, url=f"https://files.social.example/{n}.png"
        )
        posts.append(Post(Platform.MASTODON, f"50{n}0", author, T0 + timedelta(hours=n), text="#tagA1",
                          url=f"https://social.example/@u{author}/50{n}0", media=(ref,),
                          visibility=VISIBILITY[n]))  # fmt: skip
        posts.append(Post(Platform.MASTODON, f"50{n}1", author, T0 - timedelta(days=1), text="no media",
                          url=f"https://social.example/@u{author}/50{n}1", visibility="public"))  # fmt: skip
        links.append(MediaLink(Platform.MASTODON, ref.id, shas[n], "fetched", ref.url))
    media = tuple(
        Media(sha, hashlib.md5(d).hexdigest(), hashlib.sha1(d).hexdigest(), len(d), "image/png",
              str(blobs.path_for(sha)))
        for sha, d in zip(shas, data, strict=True)
    )  # fmt: skip
    moderation = (ModerationEvent(Platform.MASTODON, "1003", ModerationAction.SUSPEND, SUSPENDED, "spam"),
                  ModerationEvent(Platform.MASTODON, "1002", ModerationAction.SILENCE, SUSPENDED, "limit"))  # fmt: skip
    corpus = DuckDBCorpus(tmp_path / "corpus.duckdb")
    corpus.upsert(RecordBatch("t", accounts=accounts, posts=tuple(posts), media=media, media_links=tuple(links),
                              moderation=moderation))  # fmt: skip
    corpus.upsert_signals("matches", pa.table({
        "sha256": [shas[0], shas[2]], "bank": ["b", "b"], "bank_version": [1, 1], "entry_id": ["tagA1", "tagA2"],
        "algo": ["pdq", "pdq"], "distance": [4, 2], "category": ["child-safety", "child-safety"]}))  # fmt: skip
    members = tuple(
        CaseMember(a, Platform.MASTODON, r, (EvidenceItem("hash-match" if r == "poster" else "co-reply", "synthetic",
                   refs=(Subject("post", "5000", Platform.MASTODON), Subject("media", shas[0]))),))
        for a, r in zip(MEMBERS, ROLES, strict=True)
    )  # fmt: skip
    case = Case(id=CASE, label=CaseLabel.CHILD_SAFETY, score=0.9, members=members, hashtags=("tagA1",))
    dossier = Dossier(case=case, suppress_tags=(), entities=(), evasion=(),
                      media_queue=(QueuedMedia(shas[1], 5.0, 1, 1, T0.isoformat()),), ties=(),
                      timeline=(DayCount(date(2024, 5, 9), 6, 0),))  # fmt: skip
    store = StateStore(state_url)
    result = review.import_cases(store, [review.CaseImport(
        id=CASE, label=case.label, score=case.score, platform="mastodon", members=len(members), novel_media=1,
        latest_activity=T0, dossier=msgspec.to_builtins(dossier))], "importer")  # fmt: skip
    assert not result.rejected
    key = SigningKey.load_or_create(tmp_path / "keys" / "ed25519.pem")
    yield World(store, corpus, blobs, key, tmp_path / "evidence", shas)
    corpus.close()
    store.close()


def settings(url: str = "https://exttest.cybertip.org/ispws") -> NcmecSettings:
    return NcmecSettings(base_url=url, xsd=str(XSD), first_name="Ada", last_name="Lovelace",
                         email="trust-safety@social.example", platform="Mastodon", esp_service=SERVICE,
                         contact_email="le-requests@social.example", contact_phone="+1 555 0101")  # fmt: skip


def _earlier_report(store: StateStore, account: str, ncmec_id: str) -> None:
    body = report_xml(CyberTipReport(INCIDENT_TYPES[0], T0, ReportingPerson("Ada", "Lovelace", "a@b.example"),
                                     accounts=(ReportedAccount(account, SERVICE),)))  # fmt: skip
    with store.session() as s:
        s.add(ReportRow(id=f"ncmec-{'0' * 23}{ncmec_id[-1]}", case_id=CASE, kind="ncmec", status="finished",
                        external_id=ncmec_id, created_at=T0, created_by="rep", approved_by="app",
                        body=body.decode(), transcript=""))  # fmt: skip


def _preserve(w: World) -> response.PreservationResult:
    review.decide(w.store, CASE, review.Decision.CONFIRM, "rev")
    return response.preserve_case(w.store, CASE, REPORTER, evidence_dir=w.evidence, key=w.key, mode="copies",
                                  corpus=w.corpus.connection, blobs=w.blobs)  # fmt: skip


def test_members_as_captured(world: World) -> None:
    _earlier_report(world.store, "1002", "4564001")
    _earlier_report(world.store, "1001", "999")  # another case's account id on another report: not 1002
    _preserve(world)
    draft = reports.draft_report(world.store, CASE, REPORTER, settings(), key=world.key)
    assert validate(draft.xml.encode(), XSD) == []
    doc = etree.fromstring(draft.xml.encode())
    people = {p.findtext("espIdentifier"): p for p in doc.iterfind("personOrUserReported")}
    assert list(people) == list(MEMBERS)
    for n, a in enumerate(MEMBERS):
        p = people[a]
        assert p.findtext("espService") == SERVICE and p.findtext("screenName") == f"u{a}"
        assert p.findtext("displayName") == f"Name {a}" and p.findtext("profileBio") == f"bio of {a}"
        assert p.findtext("profileUrl") == f"https://social.example/@u{a}"
        assert p.findtext("groupIdentifier") == f"cordon network case {CASE}"
        created = (CREATED + timedelta(days=n)).isoformat()
        assert (p.findtext("additionalInfo") or "").startswith(f"Account created {created}.")
    assert [e.text for e in people["1002"].iterfind("priorCTReports")] == ["4564001"]
    assert [e.text for e in people["1001"].iterfind("priorCTReports")] == ["999"]
    assert people["1003"].find("priorCTReports") is None
    suspended = people["1003"].find("accountPermanentlyDisabled")
    assert suspended is not None and suspended.get("disabledDate") == SUSPENDED.isoformat()
    assert suspended.get("userNotified") is None  # the platform's record does not say
    assert people["1002"].find("accountPermanentlyDisabled") is None  # silenced is not disabled
    assert doc.findtext("reporter/contactPerson/email") == "le-requests@social.example"
    assert doc.findtext("incidentSummary/incidentDateTime") == (T0 - timedelta(days=1)).isoformat()
    urls = {u.text for u in doc.iterfind("internetDetails/webPageIncident/url")}
    assert urls == {f"https://social.example/@u{a}/50{n}{k}" for n, a in enumerate(MEMBERS) for k in (0, 1)}


def test_files_carry_their_own_post(world: World) -> None:
    package = _preserve(world).path
    dossier = response.load_dossier(world.store, CASE)
    content = report_content.build_content(world.store, dossier, package, settings())
    by_sha = {f.sha256: f.details for f in content.files}
    assert [f.sha256 for f in content.files] == [*sorted(world.shas[::2]), world.shas[1]]  # matches first
    for n, sha in enumerate(world.shas):
        d = by_sha[sha]
        assert d.uploaded_at == T0 + timedelta(hours=n)  # its post, not the network's first
        assert d.location == f"https://files.social.example/{n}.png" and d.original_file_name == f"{n}.png"
    assert [by_sha[s].publicly_available for s in world.shas] == [True, False, None]
    assert "matched hash list b v1 entry tagA2" in by_sha[world.shas[2]].additional_info[0]
    assert "queued for review" in by_sha[world.shas[1]].additional_info[0]


def test_ncmec_receives_the_file_details(world: World) -> None:
    _preserve(world)
    with running_fake() as fake:
        cfg = settings(fake.url)
        draft = reports.draft_report(world.store, CASE, REPORTER, cfg, key=world.key)
        reports.approve_report(world.store, draft.id, APPROVER, cfg)

        def factory(s: NcmecSettings) -> CyberTipClient:
            return CyberTipClient(s.base_url, USER, PASSWORD, retries=0)

        sent = reports.submit_report(
            world.store, draft.id, REPORTER, cfg, key=world.key, client_factory=factory
        )
        files = _files(fake, sent.external_id)
    assert sorted(files) == sorted(world.shas)
    first = etree.fromstring(files[world.shas[0]])
    assert first.findtext("uploadedToEspTimestamp") == T0.isoformat()
    assert first.findtext("publiclyAvailable") == "true" and first.findtext("fileViewedByEsp") == "false"
    hashes = {h.get("hashType"): h.text for h in first.iterfind("originalFileHash")}
    assert hashes["SHA256"] == world.shas[0] and len(hashes["MD5"] or "") == 32
    assert etree.fromstring(files[world.shas[2]]).find("publiclyAvailable") is None  # visibility unknown


def _files(fake: FakeNcmec, report_id: str) -> dict[str, bytes]:
    return {f.name: f.details for f in fake.reports[report_id].files.values()}

"""No action without preserved evidence: the gate, the network-wide action, holds and exports, on SQLite and
PostgreSQL (fixture `state_url`), with a real DuckDB corpus and a loopback Mastodon built from recorded
responses. Media are procedural noise images; ids, tags and domains are synthetic tokens.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pytest
import yaml
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cordon.app import response
from cordon.app.dossier import DayCount, Dossier, GraphTie, QueuedMedia
from cordon.corpus import BlobStore, DuckDBCorpus
from cordon.errors import ResponseError
from cordon.model import (
    Account,
    Case,
    CaseLabel,
    CaseMember,
    CaseStatus,
    EvidenceItem,
    Media,
    MediaKind,
    MediaLink,
    MediaRef,
    Platform,
    Post,
    RecordBatch,
    Subject,
)
from cordon.respond import review
from cordon.respond.access import AccessDeniedError, Principal, Role
from cordon.respond.actions import ActionAdapter, ActionStatus, DryRunAdapter, MastodonAdminAdapter, Verb
from cordon.respond.actions.gate import GateRefusedError
from cordon.respond.evidence import SigningKey
from cordon.respond.export import verify_export
from cordon.respond.holds import HoldKind
from cordon.respond.state.store import StateStore

CASE = "case-net1"
MEMBERS = ("1001", "1002", "1003", "1004")  # poster, two amplifiers, an evader from another instance
ROLES = ("poster", "amplifier", "amplifier", "evader")
OUTSIDER = "2001"
T0 = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def _who(name: str, *roles: Role) -> Principal:
    return Principal(user_id=name, name=name, roles=frozenset(roles), via="token")


REVIEWER, REPORTER = _who("rev", Role.REVIEWER), _who("rep", Role.REPORTER)
APPROVER, ADMIN = _who("appr", Role.APPROVER), _who("adm", Role.ADMIN)


def noise_png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(48, 48, 3), dtype=np.uint8), "RGB").save(out, format="PNG")
    return out.getvalue()


@dataclass
class World:
    store: StateStore
    corpus: DuckDBCorpus
    blobs: BlobStore
    key: SigningKey
    evidence: Path
    media: dict[str, bytes]  # sha256 -> bytes
    matched: str  # the sha256 that matched the child-safety bank
    dossier: Dossier

    def preserve(self, mode: str = "copies") -> response.PreservationResult:
        return response.preserve_case(self.store, CASE, REPORTER, evidence_dir=self.evidence, key=self.key,
                                      mode=mode, corpus=self.corpus.connection, blobs=self.blobs)  # fmt: skip

    def act(self, adapter: ActionAdapter, verb: Verb = Verb.SUSPEND, *, dry_run: bool = False,
            who: Principal = APPROVER) -> response.NetworkActionResult:  # fmt: skip
        return response.act_on_case(self.store, CASE, who, adapter, verb, key=self.key,
                                    dry_run=dry_run, corpus=self.corpus.connection)  # fmt: skip


def _dossier(matched: str, queued: str, members: tuple[str, ...] = MEMBERS) -> Dossier:
    evidence = {
        "poster": (EvidenceItem("hash-match", "posted media matching bank entry tagA1",
                                refs=(Subject("post", "5001", Platform.MASTODON), Subject("media", matched))),),
    }  # fmt: skip
    case_members = tuple(
        CaseMember(
            a, Platform.MASTODON, r, evidence.get(r, (EvidenceItem("co-reply", "replied in the swarm"),))
        )
        for a, r in zip(members, ROLES + ("associate",) * (len(members) - len(ROLES)), strict=False)
    )
    case = Case(id=CASE, label=CaseLabel.CHILD_SAFETY, score=0.9, members=case_members, hashtags=("tagA1",))
    return Dossier(case=case, suppress_tags=(), entities=(), evasion=(),
                   media_queue=(QueuedMedia(queued, 5.0, 1, 1, T0.isoformat()),),
                   ties=tuple(GraphTie(members[0], b, "co-reply", 2.0) for b in members[1:]),
                   timeline=(DayCount(date(2024, 5, 10), 6, 0),))  # fmt: skip


def _import(store: StateStore, dossier: Dossier) -> None:
    result = review.import_cases(store, [review.CaseImport(
        id=CASE, label=dossier.case.label, score=dossier.case.score, platform="mastodon",
        members=len(dossier.case.members), novel_media=len(dossier.media_queue), latest_activity=T0,
        dossier=msgspec.to_builtins(dossier))], "importer")  # fmt: skip
    assert not result.rejected


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> World:
    blobs = BlobStore(tmp_path / "blobs")
    media = {hashlib.sha256(d).hexdigest(): d for d in (noise_png(s) for s in range(3))}
    shas = list(media)
    for sha, data in media.items():
        blobs.put(sha, data)
    accounts = [Account(Platform.MASTODON, a, f"u{a}", acct=f"u{a}@home.example" if a == "1004" else f"u{a}",
                        url=f"https://social.example/@u{a}") for a in (*MEMBERS, OUTSIDER)]  # fmt: skip
    posts, links = [], []
    for n, author in enumerate((*MEMBERS, OUTSIDER)):
        for k in range(2):
            post_id = str(5001 + 10 * n + k)
            ref = MediaRef(
                Platform.MASTODON,
                f"m{post_id}",
                MediaKind.IMAGE,
                url=f"https://files.social.example/{post_id}.png",
            )
            has_media = k == 0 and n < 3
            posts.append(Post(Platform.MASTODON, post_id, author, T0 + timedelta(minutes=n), text=f"post {post_id} #tagA1",
                              media=(ref,) if has_media else ()))  # fmt: skip
            if has_media:
                links.append(MediaLink(Platform.MASTODON, ref.id, shas[n], "fetched", ref.url))
    media_rows = [Media(sha, hashlib.md5(d).hexdigest(), hashlib.sha1(d).hexdigest(), len(d), "image/png",
                        str(blobs.path_for(sha))) for sha, d in media.items()]  # fmt: skip
    corpus = DuckDBCorpus(tmp_path / "corpus.duckdb")
    corpus.upsert(RecordBatch("t", accounts=tuple(accounts), posts=tuple(posts), media=tuple(media_rows),
                              media_links=tuple(links)))  # fmt: skip
    # member 1001's and 1003's media matched the child-safety bank; 1002's matched nothing (queued)
    corpus.upsert_signals("matches", pa.table({
        "sha256": [shas[0], shas[2]], "bank": ["b", "b"], "bank_version": [1, 1], "entry_id": ["tagA1", "tagA2"],
        "algo": ["pdq", "pdq"], "distance": [4, 2], "category": ["child-safety", "child-safety"]}))  # fmt: skip
    store = StateStore(state_url)
    dossier = _dossier(shas[0], shas[1])
    _import(store, dossier)
    key = SigningKey.load_or_create(tmp_path / "keys" / "ed25519.pem")
    return World(store, corpus, blobs, key, tmp_path / "evidence", media, shas[0], dossier)


def _confirm(w: World) -> None:
    review.decide(w.store, CASE, review.Decision.CONFIRM, REVIEWER.name)


def test_no_action_before_confirmation_nor_before_preservation(world: World) -> None:
    with pytest.raises(GateRefusedError, match="only a confirmed case"):
        world.act(DryRunAdapter(), dry_run=True)
    _confirm(world)
    for dry_run in (True, False):
        with pytest.raises(GateRefusedError, match="no preservation package"):
            world.act(DryRunAdapter(), dry_run=dry_run)
    actions = [e.action for e in world.store.audit_entries()]
    assert not any(a.startswith("action.") for a in actions)


def test_preservation_captures_members_records_and_media(world: World) -> None:
    _confirm(world)
    result = world.preserve()
    pkg = result.path
    posts = [json.loads(line) for line in (pkg / "records" / "posts.jsonl").read_text().splitlines()]
    expected = world.corpus.connection.execute(
        "SELECT id FROM posts WHERE account_id IN (SELECT unnest($m::VARCHAR[])) ORDER BY id",
        {"m": list(MEMBERS)},
    ).fetchall()
    assert sorted(p["id"] for p in posts) == [r[0] for r in expected]
    assert OUTSIDER not in {p["account_id"] for p in posts}
    copied = {p.name for p in (pkg / "media").iterdir()}
    assert copied == set(world.media)  # every stored item was posted by a member (the outsider posted none)
    for name in copied:
        assert hashlib.sha256((pkg / "media" / name).read_bytes()).hexdigest() == name
    matches = (pkg / "records" / "matches.jsonl").read_text()
    assert world.matched in matches
    assert world.store.status(CASE) is CaseStatus.CONFIRMED  # preserving does not change the status
    assert [e.kind for e in world.store.events(CASE)][-1] == "preserved"


def test_reporter_preserves_approver_acts_nobody_else(world: World) -> None:
    _confirm(world)
    with pytest.raises(AccessDeniedError):
        response.preserve_case(world.store, CASE, APPROVER, evidence_dir=world.evidence, key=world.key)
    world.preserve()
    for who in (REPORTER, REVIEWER, ADMIN):
        with pytest.raises(AccessDeniedError):
            world.act(DryRunAdapter(), dry_run=True, who=who)
    with pytest.raises(AccessDeniedError):
        response.override_gate(world.store, CASE, APPROVER, "urgent: ongoing distribution")


class FakeMastodon:
    """A loopback Mastodon admin API: account records are the recorded admin-account response, re-keyed."""

    def __init__(self, server: HTTPServer, recorded: dict[str, object]) -> None:
        self.flags: dict[str, set[str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.recorded = recorded
        server.expect_request(
            re.compile(r"^/api/v1/admin/accounts/\d+/action$"), method="POST"
        ).respond_with_handler(self.action)
        server.expect_request(re.compile(r"^/api/v1/admin/accounts/\d+$"), method="GET").respond_with_handler(
            self.account
        )
        server.expect_request("/api/v1/reports", method="POST").respond_with_handler(self.report)

    def action(self, request: Request) -> Response:
        account = request.path.split("/")[-2]
        self.requests.append(("action", account))
        kind = request.form["type"]
        self.flags.setdefault(account, set()).add({"suspend": "suspended", "silence": "silenced"}[kind])
        return Response("{}", 200, content_type="application/json")

    def account(self, request: Request) -> Response:
        account = request.path.split("/")[-1]
        self.requests.append(("get", account))
        body = dict(self.recorded, id=account, **dict.fromkeys(self.flags.get(account, ()), True))
        return Response(json.dumps(body), 200, content_type="application/json")

    def report(self, request: Request) -> Response:
        self.requests.append(("report", request.form["account_id"]))
        forwarded = request.form.get("forward") == "true"
        body = {
            "id": str(len(self.requests)),
            "forwarded": forwarded,
            "status_ids": request.form.getlist("status_ids[]"),
        }
        return Response(json.dumps(body), 200, content_type="application/json")


@pytest.fixture
def mastodon(httpserver: HTTPServer, shared: Path) -> FakeMastodon:
    cassette = yaml.safe_load((shared / "fixtures" / "mastodon" / "test_admin_moderation.yaml").read_text())
    recorded = next(json.loads(i["response"]["body"]["string"]) for i in cassette["interactions"]
                    if i["request"]["method"] == "GET" and "/admin/accounts/" in i["request"]["uri"])  # fmt: skip
    assert recorded["suspended"] is False
    return FakeMastodon(httpserver, recorded)


def test_one_decision_acts_on_every_member_once(
    world: World, mastodon: FakeMastodon, httpserver: HTTPServer
) -> None:
    _confirm(world)
    world.preserve()
    adapter = MastodonAdminAdapter(httpserver.url_for("/"), "tok", sleep=lambda _s: None)
    dry = world.act(adapter, dry_run=True)
    assert [o.status for o in dry.outcomes] == [ActionStatus.DRY_RUN] * len(MEMBERS)
    assert mastodon.requests == []  # a dry run sends nothing
    assert world.store.status(CASE) is CaseStatus.CONFIRMED

    real = world.act(adapter)
    assert {o.target.account_id: o.status for o in real.outcomes} == dict.fromkeys(MEMBERS, ActionStatus.DONE)
    assert sorted(a for kind, a in mastodon.requests if kind == "action") == sorted(MEMBERS)
    assert world.store.status(CASE) is CaseStatus.ACTIONED
    assert real.gate.kind == "preserved"

    before = len(mastodon.requests)
    again = world.act(adapter)
    assert [o.status for o in again.outcomes] == [ActionStatus.SKIPPED] * len(MEMBERS)
    assert len(mastodon.requests) == before  # nothing is sent twice

    removal = world.act(adapter, Verb.DELETE_STATUSES)
    statuses = {o.target.account_id: (o.status, o.target.status_ids) for o in removal.outcomes}
    assert statuses["1001"] == (ActionStatus.QUEUED, ("5001",))  # the matched post (also named by evidence)
    assert statuses["1003"] == (ActionStatus.QUEUED, ("5021",))  # matched in the corpus, not in the dossier
    assert statuses["1002"][0] is ActionStatus.SKIPPED  # its media matched no bank: nothing to remove
    flags = world.act(adapter, Verb.FORWARD_FLAG)
    assert {o.target.account_id for o in flags.outcomes if o.status is ActionStatus.DONE} == {"1004"}
    verdict = world.store.verify_audit()
    assert verdict.ok, verdict.reason
    finishes = [json.loads(e.detail) for e in world.store.audit_entries() if e.action == "action.finish"]
    assert finishes[0]["done"] == len(MEMBERS) and len(finishes[0]["outcomes_sha256"]) == 64


def test_tampered_package_closes_the_gate_until_an_admin_overrides(world: World) -> None:
    _confirm(world)
    pkg = world.preserve().path
    (pkg / "records" / "posts.jsonl").write_text("{}\n")
    with pytest.raises(GateRefusedError, match="does not verify"):
        world.act(DryRunAdapter(), dry_run=True)
    with pytest.raises(GateRefusedError, match="reason"):
        response.override_gate(world.store, CASE, ADMIN, "no")
    seq = response.override_gate(world.store, CASE, ADMIN, "evidence server lost; distribution ongoing")
    result = world.act(DryRunAdapter(), dry_run=True)
    assert result.gate.kind == "override" and result.gate.ref == f"override:{seq}"
    overrides = [e for e in world.store.audit_entries() if e.action == "case.gate-override"]
    assert overrides and overrides[-1].actor == ADMIN.name and "distribution ongoing" in overrides[-1].detail


def test_a_new_analysis_needs_a_new_preservation(world: World) -> None:
    _confirm(world)
    world.preserve()
    world.act(DryRunAdapter(), dry_run=True)
    _import(world.store, _dossier(world.matched, world.dossier.media_queue[0].sha256, (*MEMBERS, "1005")))
    with pytest.raises(GateRefusedError, match="predates the dossier"):
        world.act(DryRunAdapter(), dry_run=True)
    world.preserve()
    result = world.act(DryRunAdapter(), dry_run=True)
    assert {o.target.account_id for o in result.outcomes} == {*MEMBERS, "1005"}


def test_holds_and_their_alerts(world: World) -> None:
    now = datetime.now(UTC)
    police = response.place_hold(world.store, CASE, REPORTER, HoldKind.POLICE, reference="PR-7",
                                 starts_at=now - timedelta(days=80))  # fmt: skip
    assert police.expires_at - police.starts_at == timedelta(days=90)
    alerts = response.hold_alerts(world.store, now)
    assert [h.id for h in alerts] == [police.id]  # ten days left
    ext = response.place_hold(world.store, CASE, REPORTER, HoldKind.POLICE_EXTENSION, extends=police.id)
    assert ext.starts_at == police.expires_at and ext.reference == "PR-7"
    with pytest.raises(ResponseError, match="already in place"):
        response.place_hold(world.store, CASE, REPORTER, HoldKind.POLICE_EXTENSION, extends=police.id)
    with pytest.raises(AccessDeniedError):
        response.place_hold(world.store, CASE, REVIEWER, HoldKind.VOLUNTARY, days=30)
    assert {h.kind for h in response.holds_of(world.store, CASE)} == {
        HoldKind.POLICE,
        HoldKind.POLICE_EXTENSION,
    }
    assert response.hold_alerts(world.store, now + timedelta(days=20)) == ()  # the police hold has ended
    assert [h.id for h in response.hold_alerts(world.store, ext.expires_at - timedelta(days=3))] == [ext.id]


def test_export_for_police_is_signed_and_withholds_media(world: World, tmp_path: Path) -> None:
    _confirm(world)
    with pytest.raises(GateRefusedError):
        response.export_case(
            world.store, CASE, REPORTER, out=tmp_path / "x.zip", recipient="police", key=world.key
        )
    world.preserve()
    world.act(DryRunAdapter(), dry_run=True)
    out = tmp_path / "exports" / "case.zip"
    result = response.export_case(world.store, CASE, REPORTER, out=out, recipient="police", key=world.key)
    assert verify_export(out, world.key.public).ok
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        audit = [json.loads(x) for x in zf.read("case/audit.jsonl").splitlines()]
    assert not any(n.startswith("evidence/media/") for n in names)
    assert {w["sha256"] for w in manifest["withheld"]} == {
        p.name for p in (world.evidence / CASE).glob("*/media/*")
    }
    assert {"evidence.preserve", "action.dry-run"} <= {a["action"] for a in audit}
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    with pytest.raises(ResponseError, match="never overwritten"):
        response.export_case(world.store, CASE, REPORTER, out=out, recipient="police", key=world.key)
    assert world.store.verify_audit().ok


def test_hashes_mode_preserves_without_bytes(world: World) -> None:
    _confirm(world)
    result = world.preserve(mode="hashes")
    lines = [json.loads(x) for x in (result.path / "media.jsonl").read_text().splitlines()]
    assert {x["sha256"] for x in lines} == set(world.media)
    assert all(x["md5"] == hashlib.md5(world.media[x["sha256"]]).hexdigest() for x in lines)
    assert not (result.path / "media").exists()


def test_command_line_walks_the_same_path(world: World, tmp_path: Path, state_url: str) -> None:
    from sqlalchemy import update  # noqa: PLC0415
    from typer.testing import CliRunner  # noqa: PLC0415

    from cordon.cli.main import app  # noqa: PLC0415
    from cordon.respond.state.tables import AuditRow  # noqa: PLC0415

    runner = CliRunner()
    base = ["--state", state_url]
    key = ["--key", str(tmp_path / "keys" / "ed25519.pem")]
    corpus = str(tmp_path / "corpus.duckdb")
    world.corpus.close()  # the command line opens the corpus itself (read-only)

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.output

    code, out = run("act", CASE, "--verb", "suspend", "--dry-run", *base, *key)
    assert code == 1 and "only a confirmed case" in out
    _confirm(world)
    code, out = run("act", CASE, "--verb", "suspend", "--dry-run", *base, *key)
    assert code == 1 and "no action before the evidence is preserved" in out
    code, out = run("preserve", CASE, *base, *key, "--corpus", corpus, "--evidence", str(world.evidence))
    assert code == 0 and "verified" in out, out
    code, out = run("act", CASE, "--verb", "suspend", "--dry-run", "--corpus", corpus, *base, *key)
    assert code == 0 and f"{len(MEMBERS)} dry-run" in out, out
    code, out = run("holds", "add", CASE, "--kind", "police", "--reference", "PR-9", *base)
    assert code == 0 and "police" in out
    code, out = run("holds", "alerts", "--within-days", "120", *base)
    assert code == 3 and CASE in out  # a 90-day hold ends within 120 days
    code, out = run("holds", *base)
    assert code == 0 and "PR-9" in out
    zip_path = tmp_path / "police.zip"
    code, out = run("export", CASE, "--to", "police", "--out", str(zip_path), *base, *key)
    assert code == 0 and verify_export(zip_path, world.key.public).ok, out
    code, out = run("audit", "verify", *base)
    assert code == 0 and "intact" in out
    with world.store.session() as s:
        s.execute(update(AuditRow).where(AuditRow.seq == 3).values(detail='{"note":"rewritten"}'))
    code, out = run("audit", "verify", *base)
    assert code == 1 and "BROKEN at entry 3" in out

"""The review service's composition root: settings -> state store, access control, corpus, media, cases.

`cordon.api.server.create_app(settings)` puts HTTP in front of a `Service`; the CLI (`cordon user add`,
`cordon cases import`) uses the same object without HTTP. Everything the web pages and the JSON API show of a
case comes from here: the dossier imported from cases.json (decoded into the typed `Dossier`, cached until the
case is re-imported), member accounts enriched from the DuckDB corpus (read-only), and media bytes from the
content-addressed blob store, checked against their SHA-256 before they are served.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import duckdb
import msgspec
from markupsafe import Markup
from PIL import Image, ImageFilter, UnidentifiedImageError

from cordon.app.bulk_gc import keep_long_lived
from cordon.app.dossier import Dossier
from cordon.app.report_content import NcmecSettings
from cordon.app.reporting import CasesDocument, graph_svg, hashtag_svg, read_cases_json, timeline_svg
from cordon.app.reports import ClientFactory, client_from_env
from cordon.corpus import BlobStore
from cordon.errors import ConfigError, ResponseError
from cordon.model import CaseEvent, CaseLabel, CaseStatus
from cordon.respond import review
from cordon.respond.access import AccessControl
from cordon.respond.actions.config import AdapterSettings
from cordon.respond.evidence import SigningKey
from cordon.respond.state.store import DEFAULT_URL, StateStore, derive_status, utc

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
VIEWBOX_RE = re.compile(r'<svg (?:viewBox="0 0 (?P<w>\d+) (?P<h>\d+)")?')
ENV_VAR = "CORDON_SERVICE_SETTINGS"
PREVIEW_SIDE = 160
GRAPH_NODES, GRAPH_TIES = 300, 1500  # what a case page draws: the first members, their strongest ties
MAX_IMAGE_PIXELS = 64_000_000


class MediaNotFoundError(ResponseError):
    """The media id is not a SHA-256 of this case, or its bytes are not stored."""


class ServiceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What `cordon serve` runs on. Passed to the server process as JSON in $CORDON_SERVICE_SETTINGS."""

    state_url: str = DEFAULT_URL
    corpus: str = ""  # the DuckDB corpus file written by `cordon analyze` ("" = none)
    blobs: str = ""  # content-addressed media bytes ("" = `blobs/` beside the corpus)
    evidence_dir: str = "evidence"  # preservation packages
    signing_key: str = "keys/evidence-ed25519.pem"  # Ed25519 key for manifests (created on first use)
    exports_dir: str = "exports"  # police and hotline export zips
    actions: AdapterSettings = msgspec.field(default_factory=AdapterSettings)  # who acts (dry-run by default)
    ncmec: NcmecSettings = msgspec.field(default_factory=NcmecSettings)  # CyberTipline reports
    secure_cookies: bool = True  # False only for plain-HTTP development and tests
    session_hours: float = 8.0
    max_body_bytes: int = 16 * 2**20  # larger requests are refused with 413
    reveal_minutes: int = 10  # how long a logged reveal lets its user fetch the item
    argon2_time_cost: int = 3  # argon2id parameters (RFC 9106 second recommendation by default)
    argon2_memory_kib: int = 65536

    def to_env(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def from_env(cls) -> ServiceSettings:
        raw = os.environ.get(ENV_VAR)
        if not raw:
            return cls()
        try:
            return msgspec.json.decode(raw, type=cls)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"${ENV_VAR}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class MemberAccount:
    """A case member's account as captured in the corpus (empty fields when there is no corpus)."""

    account_id: str
    handle: str
    display_name: str
    created_at: datetime | None
    followers: int
    statuses: int


@dataclass(frozen=True, slots=True)
class CaseView:
    id: str
    label: CaseLabel
    score: float
    platform: str
    priority: float
    status: CaseStatus
    imported_at: datetime
    events: tuple[CaseEvent, ...]
    dossier: Dossier  # with only the strongest ties (see ties_total)
    ties_total: int
    accounts: tuple[MemberAccount, ...]
    media: tuple[str, ...]  # the SHA-256 of every media item a reviewer may reveal in this case


@dataclass(frozen=True, slots=True)
class _Loaded:
    dossier: Dossier
    media: tuple[str, ...]
    media_set: frozenset[str]


@dataclass(frozen=True, slots=True)
class CaseGraphics:
    """The case page's SVG pictures (no media): network graph, timeline, flooded hashtags. The graph is also a
    standalone SVG document (`graph_document`, served as its own resource with `graph_etag`, a digest of it),
    so that a case page does not carry it and a browser revalidates it instead of loading it again."""

    graph: Markup
    timeline: Markup
    hashtags: Markup
    graph_document: bytes = b""
    graph_etag: str = ""


@dataclass
class _Lru:
    size: int
    long_lived: bool = False  # values of many objects: out of the cycle collector's walks once cached
    items: OrderedDict[object, object] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: object) -> object | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            return None

    def put(self, key: object, value: object) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        if self.long_lived:
            keep_long_lived()


def case_import_of(dossier: Dossier) -> review.CaseImport:
    """A Dossier (as in cases.json) to what the state store keeps of it."""
    case = dossier.case
    active = [d.day for d in dossier.timeline if d.posts > 0]
    latest = datetime.combine(max(active), time(0, 0), UTC) if active else None
    platform = str(case.members[0].platform) if case.members else ""
    return review.CaseImport(
        id=case.id, label=case.label, score=case.score, platform=platform, members=len(case.members),
        novel_media=len(dossier.media_queue), latest_activity=latest,
        dossier=msgspec.json.decode(msgspec.json.encode(dossier)),  # JSON types, as the store returns them
    )  # fmt: skip


def media_of(dossier: Dossier) -> tuple[str, ...]:
    """Media a reviewer may reveal: the queued (unmatched) items and the items of the case's hash matches."""
    seen: dict[str, None] = {}
    for q in dossier.media_queue:
        seen.setdefault(q.sha256, None)
    for m in dossier.case.members:
        for ev in m.evidence:
            for ref in ev.refs:
                if ref.kind == "media" and SHA256_RE.fullmatch(ref.id):
                    seen.setdefault(ref.id, None)
    return tuple(seen)


class Service:
    """The state store, access control, the corpus (optional) and the media blobs, wired from settings."""

    def __init__(self, settings: ServiceSettings) -> None:
        from argon2 import PasswordHasher  # noqa: PLC0415 - the `serve` extra; only the service needs it

        self.settings = settings
        self.store = StateStore(settings.state_url)
        self.access = AccessControl(
            self.store,
            hasher=PasswordHasher(
                time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
            ),
            session_ttl=timedelta(hours=settings.session_hours),
        )
        self._corpus: duckdb.DuckDBPyConnection | None = None
        self._corpus_lock = threading.Lock()
        if settings.corpus:
            path = Path(settings.corpus)
            if not path.is_file():
                raise ConfigError(f"corpus {path} does not exist; pass the corpus.duckdb that analyze wrote")
            self._corpus = duckdb.connect(str(path), read_only=True)
        blobs = settings.blobs or (str(Path(settings.corpus).parent / "blobs") if settings.corpus else "")
        self.blobs = BlobStore(Path(blobs)) if blobs else None
        self._dossiers = _Lru(256, long_lived=True)
        self._accounts = _Lru(256, long_lived=True)
        self._previews = _Lru(1024)
        self._graphics = _Lru(128)
        self._key: SigningKey | None = None
        self._key_lock = threading.Lock()
        self.report_client: ClientFactory = client_from_env  # how reports reach NCMEC (tests: the fake)

    @property
    def key(self) -> SigningKey:
        """The Ed25519 key that signs preservation manifests and exports (created on first use)."""
        with self._key_lock:
            if self._key is None:
                self._key = SigningKey.load_or_create(Path(self.settings.signing_key))
            return self._key

    @contextmanager
    def corpus_cursor(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A cursor of the read-only corpus for one request (None when the service runs without a corpus)."""
        if self._corpus is None:
            yield None
            return
        with self._corpus_lock:
            cur = self._corpus.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def close(self) -> None:
        if self._corpus is not None:
            self._corpus.close()
        self.store.close()

    # -- cases ---------------------------------------------------------------------------------------------
    def import_document(self, doc: CasesDocument, actor: str) -> review.ImportResult:
        return review.import_cases(self.store, (case_import_of(d) for d in doc.cases), actor)

    def import_cases_json(self, path: Path, actor: str) -> review.ImportResult:
        try:
            doc = read_cases_json(path)
        except (OSError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ResponseError(f"{path}: not a readable cases.json ({exc})") from exc
        return self.import_document(doc, actor)

    def dossier(self, case_id: str) -> tuple[review.CaseSummary, Dossier]:
        row, loaded = self._load(case_id)
        return row, loaded.dossier

    def _load(self, case_id: str) -> tuple[review.CaseSummary, _Loaded]:
        """The case's row and its decoded dossier (ties strongest first), cached per imported version."""
        row = review.case_summary(self.store, case_id)
        key = (case_id, row.imported_at)
        cached = self._dossiers.get(key)
        if isinstance(cached, _Loaded):
            return row, cached
        decoded = msgspec.convert(review.case_dossier(self.store, case_id), Dossier)
        dossier = replace(decoded, ties=tuple(sorted(decoded.ties, key=lambda t: (-t.weight, t.a, t.b))))
        media = media_of(dossier)
        loaded = _Loaded(dossier, media, frozenset(media))
        self._dossiers.put(key, loaded)
        return row, loaded

    def case_view(self, case_id: str, *, ties_limit: int = 1000) -> CaseView:
        """The case for a reviewer; the dossier carries only the `ties_limit` strongest graph ties."""
        row, loaded = self._load(case_id)
        events = self.store.events(case_id)
        dossier = loaded.dossier
        return CaseView(
            id=row.id, label=row.label, score=row.score, platform=row.platform, priority=row.priority,
            status=derive_status(events), imported_at=row.imported_at, events=events,
            dossier=replace(dossier, ties=dossier.ties[:ties_limit]), ties_total=len(dossier.ties),
            accounts=self.member_accounts(case_id, row.imported_at, dossier), media=loaded.media,
        )  # fmt: skip

    def member_accounts(self, case_id: str, version: datetime, dossier: Dossier) -> tuple[MemberAccount, ...]:
        if self._corpus is None or not dossier.case.members:
            return ()
        key = (case_id, version)
        cached = self._accounts.get(key)
        if isinstance(cached, tuple):
            return cached
        platform = str(dossier.case.members[0].platform)
        ids = [m.account_id for m in dossier.case.members]
        with self._corpus_lock:
            cur = self._corpus.cursor()
        try:
            rows = cur.execute(
                """SELECT id, handle, coalesce(display_name, ''), created_at, coalesce(followers_count, 0),
                          coalesce(statuses_count, 0)
                   FROM accounts WHERE platform = $p AND id IN (SELECT unnest($ids::VARCHAR[]))""",
                {"p": platform, "ids": ids},
            ).fetchall()
        finally:
            cur.close()
        found = {
            str(r[0]): MemberAccount(str(r[0]), str(r[1]), str(r[2]), utc(r[3]) if r[3] else None, r[4], r[5])
            for r in rows
        }
        accounts = tuple(found[i] for i in ids if i in found)
        self._accounts.put(key, accounts)
        return accounts

    def graphics(self, case_id: str) -> CaseGraphics:
        """The SVGs of a case page, laid out once per imported version of the case. The graph draws the first
        GRAPH_NODES members (strongest roles first) and their GRAPH_TIES strongest ties, so that the page stays
        small for networks with hundreds of thousands of ties."""
        row, dossier = self.dossier(case_id)
        key = (case_id, row.imported_at)
        cached = self._graphics.get(key)
        if isinstance(cached, CaseGraphics):
            return cached
        shown = {m.account_id for m in dossier.case.members[:GRAPH_NODES]}
        strongest = tuple(t for t in dossier.ties if t.a in shown and t.b in shown)[:GRAPH_TIES]
        graph = graph_svg(replace(dossier, ties=strongest), max_nodes=GRAPH_NODES)
        document = svg_document(graph)
        pictures = CaseGraphics(
            graph, timeline_svg(dossier.timeline), hashtag_svg(dossier.suppress_tags), document,
            f'"{hashlib.sha256(document).hexdigest()[:32]}"' if document else "",
        )  # fmt: skip
        self._graphics.put(key, pictures)
        return pictures

    # -- media ---------------------------------------------------------------------------------------------
    def check_media(self, case_id: str, sha256: str) -> None:
        """The id must be a lower-case SHA-256 of a media item of this case (no paths, no other cases)."""
        if not SHA256_RE.fullmatch(sha256):
            raise MediaNotFoundError(f"media id {sha256[:80]!r} is not a lower-case hex SHA-256")
        _, loaded = self._load(case_id)
        if sha256 not in loaded.media_set:
            raise MediaNotFoundError(f"media {sha256} is not part of case {case_id}")

    def media_bytes(self, case_id: str, sha256: str) -> tuple[bytes, str]:
        """The item's bytes (verified against its SHA-256) and a media type, or MediaNotFoundError."""
        self.check_media(case_id, sha256)
        data = self._read_blob(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise MediaNotFoundError(f"media {sha256}: the stored bytes no longer match their hash")
        return data, _media_type(data)

    def _read_blob(self, sha256: str) -> bytes:
        candidates: list[Path] = []
        if self.blobs is not None:
            candidates.append(self.blobs.path_for(sha256))
        if self._corpus is not None:
            with self._corpus_lock:
                cur = self._corpus.cursor()
            try:
                hit = cur.execute("SELECT stored_path FROM media WHERE sha256 = ?", [sha256]).fetchone()
            finally:
                cur.close()
            if hit and hit[0]:
                candidates.append(Path(str(hit[0])))
        for path in candidates:
            if path.is_file():
                return path.read_bytes()
        raise MediaNotFoundError(f"media {sha256}: its bytes are not stored (only its hash is known)")

    def preview(self, case_id: str, sha256: str) -> bytes:
        """A blurred, greyscale PNG that shows only coarse tones: never the content itself."""
        self.check_media(case_id, sha256)
        cached = self._previews.get(sha256)
        if isinstance(cached, bytes):
            return cached
        try:
            data, _ = self.media_bytes(case_id, sha256)
            png = blurred_preview(data)
        except MediaNotFoundError:
            png = placeholder_preview()
        self._previews.put(sha256, png)
        return png

    # -- overview ------------------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        return {str(k): v for k, v in review.status_counts(self.store).items()}


def svg_document(svg: str) -> bytes:
    """An inline `<svg>` element as a standalone image/svg+xml document (b"" for no picture), sized by its
    viewBox so that an <img> has its natural size."""
    box = VIEWBOX_RE.match(svg)
    if box is None:
        return b""
    size = f'width="{box["w"]}" height="{box["h"]}" ' if box["w"] else ""
    head = f'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" {size}'.encode()
    return head + svg[5:].encode()  # encoded apart: a str added to a Markup would be escaped


def blurred_preview(data: bytes) -> bytes:
    """Decode at low resolution, reduce to 12 px greyscale, scale up and blur: tones, no detail."""
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("L", (64, 64))
            small = im.convert("L")
            small.thumbnail((12, 12))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        return placeholder_preview()
    big = small.resize((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    big.filter(ImageFilter.GaussianBlur(10)).save(out, format="PNG")
    return out.getvalue()


def placeholder_preview() -> bytes:
    out = io.BytesIO()
    Image.new("L", (PREVIEW_SIDE, PREVIEW_SIDE), 128).save(out, format="PNG")
    return out.getvalue()


def _media_type(data: bytes) -> str:
    signatures = (
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF8", "image/gif"),
    )
    for magic, kind in signatures:
        if data.startswith(magic):
            return kind
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"

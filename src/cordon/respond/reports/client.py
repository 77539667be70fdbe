"""The CyberTipline Reporting API client: /status, /submit, /upload, /fileinfo, /finish, /retract.

HTTP basic auth with NCMEC-issued credentials (read from the environment by the caller, never logged). Every
call appends a transcript entry (time, method, path, HTTP status, NCMEC's response code and description, the
response body, NCMEC's Request-ID header; for uploads the file name, size and MD5, never the bytes; never the
credentials). A non-zero response code is a `CyberTipError` with the code and NCMEC's description. The MD5
that /upload returns is checked against the file's own MD5: a mismatch is an error (the file did not arrive
whole). Only safe calls are retried on a transport error: /status, and /retract (a second retract answers
5101 "already retracted", which counts as done); a report is never submitted, nor a file uploaded, twice.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from lxml import etree

from cordon.errors import ConfigError, ResponseError

PRODUCTION = "https://report.cybertip.org/ispws"
TESTING = "https://exttest.cybertip.org/ispws"
CODES = {
    0: "Success", 1000: "Server error", 1100: "Save failed", 1110: "Upload failed", 1111: "File upload failed",
    1210: "Resource not found", 1300: "Update failed", 2000: "Authentication required",
    3000: "User is not authorized to perform this action", 3100: "User does not have authorization to make submissions",
    3300: "User does not have authorization to make updates", 4000: "Invalid request", 4100: "Validation failed",
    4110: "Malformed XML submittal", 4200: "Malformed file submittal", 5001: "Report does not exist",
    5002: "File does not exist", 5101: "Report already retracted", 5102: "Report already finished",
}  # fmt: skip
ALREADY_RETRACTED = 5101
XML = {"Content-Type": "text/xml; charset=utf-8"}


class CyberTipError(ResponseError):
    """NCMEC answered with a non-zero response code, an unreadable body, or not at all."""

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    at: datetime
    method: str
    path: str
    http_status: int | None
    code: int | None
    description: str
    request: str  # what was sent: the XML document, or the form fields and the file's name, size and MD5
    response: str
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """A parsed `reportResponse` or `reportDoneResponse`."""

    code: int
    description: str
    report_id: str
    file_id: str = ""
    md5: str = ""
    files: tuple[str, ...] = ()


@dataclass
class CyberTipClient:
    base_url: str
    username: str
    password: str = field(repr=False)
    timeout_s: float = 60.0
    retries: int = 2
    transcript: list[TranscriptEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ResponseError(
                f"NCMEC base URL {self.base_url!r}: HTTPS only (plain HTTP only to a loopback fake)"
            )
        self._http = httpx.Client(base_url=self.base_url.rstrip("/"), auth=(self.username, self.password),
                                  timeout=self.timeout_s, follow_redirects=False)  # fmt: skip

    @classmethod
    def from_env(
        cls, base_url: str, username_env: str, password_env: str, *, timeout_s: float = 60.0, retries: int = 2
    ) -> CyberTipClient:
        """A client whose NCMEC-issued credentials are read from the environment variables named here."""
        user, password = os.environ.get(username_env, ""), os.environ.get(password_env, "")
        missing = [name for name, value in ((username_env, user), (password_env, password)) if not value]
        if missing:
            raise ConfigError(
                f"NCMEC credentials: set ${' and $'.join(missing)} (issued by NCMEC to the ESP)"
            )
        return cls(base_url, user, password, timeout_s=timeout_s, retries=retries)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CyberTipClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the documented endpoints ------------------------------------------------------------------------
    def status(self) -> str:
        """Can we reach NCMEC and authenticate? Returns NCMEC's description ("Remote User : ...")."""
        return self._call("GET", "/status", safe=True).description

    def submit(self, report: bytes) -> str:
        """Open a report; returns NCMEC's report id."""
        answer = self._call("POST", "/submit", content=report, headers=XML, sent=report.decode())
        if not answer.report_id:
            raise CyberTipError("/submit: NCMEC answered success without a report id", code=answer.code)
        return answer.report_id

    def upload(self, report_id: str, name: str, data: bytes) -> str:
        """Upload a file to an open report; returns the file id after checking the MD5 NCMEC computed."""
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        sent = f"id={report_id} file={name} ({len(data)} bytes, md5 {md5})"
        answer = self._call(
            "POST", "/upload", data={"id": report_id}, files={"file": (name, data)}, sent=sent
        )
        if answer.md5.lower() != md5:
            raise CyberTipError(
                f"/upload of {name} to report {report_id}: NCMEC received MD5 {answer.md5 or '(none)'}, the file "
                f"has {md5}; the file did not arrive whole (retract the report and submit it again)"
            )
        if not answer.file_id:
            raise CyberTipError(f"/upload of {name}: NCMEC answered success without a file id")
        return answer.file_id

    def fileinfo(self, details: bytes) -> None:
        self._call("POST", "/fileinfo", content=details, headers=XML, sent=details.decode())

    def finish(self, report_id: str) -> tuple[str, ...]:
        """Finish the report (it can no longer change or be retracted); returns the file ids NCMEC holds."""
        return self._call("POST", "/finish", data={"id": report_id}, sent=f"id={report_id}").files

    def retract(self, report_id: str) -> None:
        """Cancel an unfinished report (a report already retracted counts as done)."""
        try:
            self._call("POST", "/retract", data={"id": report_id}, sent=f"id={report_id}", safe=True)
        except CyberTipError as exc:
            if exc.code != ALREADY_RETRACTED:
                raise

    # -- plumbing ------------------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        sent: str = "",
        safe: bool = False,
        **kwargs: object,
    ) -> Answer:
        attempts = 1 + (self.retries if safe else 0)
        for attempt in range(attempts):
            at = datetime.now(UTC)
            try:
                r = self._http.request(method, path, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                self.transcript.append(
                    TranscriptEntry(at, method, path, None, None, f"transport error: {exc}", sent, "")
                )
                if attempt + 1 < attempts:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise CyberTipError(f"{method} {path}: NCMEC did not answer ({exc})") from exc
            break
        request_id = r.headers.get("request-id", "")
        try:
            answer = parse_answer(r.content)
        except CyberTipError as exc:
            self.transcript.append(TranscriptEntry(at, method, path, r.status_code, None, str(exc), sent,
                                                   r.text[:4000], request_id))  # fmt: skip
            hint = " (check the credentials)" if r.status_code == 401 else ""
            raise CyberTipError(
                f"{method} {path}: HTTP {r.status_code}{hint}; {exc}", http_status=r.status_code
            ) from exc
        self.transcript.append(TranscriptEntry(at, method, path, r.status_code, answer.code, answer.description,
                                               sent, r.text[:4000], request_id))  # fmt: skip
        if answer.code != 0 or r.status_code >= 400:
            known = CODES.get(answer.code, "unknown code")
            raise CyberTipError(
                f"{method} {path}: NCMEC response code {answer.code} ({known}): {answer.description}"
                + (f" [Request-ID {request_id}]" if request_id else ""),
                code=answer.code, http_status=r.status_code,
            )  # fmt: skip
        return answer


def parse_answer(body: bytes) -> Answer:
    """A `reportResponse` or `reportDoneResponse` document (no DTDs, entities or network)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise CyberTipError(f"the answer is not XML ({exc}): {body[:200]!r}") from exc
    if root.tag not in ("reportResponse", "reportDoneResponse"):
        raise CyberTipError(f"the answer is a <{root.tag}>, not a reportResponse")

    def text(tag: str) -> str:
        return (root.findtext(tag) or "").strip()

    try:
        code = int(text("responseCode"))
    except ValueError as exc:
        raise CyberTipError(f"the answer has no numeric responseCode: {body[:200]!r}") from exc
    files = tuple((f.text or "").strip() for f in root.iterfind("files/fileId"))
    return Answer(code, text("responseDescription"), text("reportId"), text("fileId"), text("hash"), files)

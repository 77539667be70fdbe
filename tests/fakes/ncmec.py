"""A loopback fake of NCMEC's CyberTipline Reporting API, built from its published documentation
(../shared/schemas/ncmec/cybertipline-reporting-api-technical-documentation.html): the endpoints, the
`reportResponse` / `reportDoneResponse` bodies, the documented response codes, basic auth, a Request-ID header.

It validates every `<report>` and `<fileDetails>` against the shared XSD (4100 when invalid, 4110 when not
XML), keeps reports and their files in memory for the tests to inspect, and can be told to corrupt the MD5 it
returns. Nothing it receives leaves the process.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

XSD = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "ncmec" / "cyber_tipline.xsd"
USER, PASSWORD = "usr123", "pswd123"  # the documentation's example credentials


@dataclass
class FakeFile:
    name: str
    size: int
    md5: str
    details: bytes = b""


@dataclass
class FakeReport:
    xml: bytes
    status: str = "open"  # open | finished | retracted
    files: dict[str, FakeFile] = field(default_factory=dict)


@dataclass
class FakeNcmec:
    url: str = ""
    reports: dict[str, FakeReport] = field(default_factory=dict)
    corrupt_md5: bool = False
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    next_id: int = 4564654

    def __post_init__(self) -> None:
        self.schema = etree.XMLSchema(etree.parse(str(XSD)))

    # -- responses -----------------------------------------------------------------------------------------
    @staticmethod
    def answer(code: int, description: str, report_id: str = "", http: int = 200, **extra: str) -> Response:
        root = etree.Element("reportResponse")
        etree.SubElement(root, "responseCode").text = str(code)
        etree.SubElement(root, "responseDescription").text = description
        etree.SubElement(root, "reportId").text = report_id or "0"
        for tag in ("fileId", "hash"):
            if tag in extra:
                etree.SubElement(root, tag).text = extra[tag]
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        return Response(body, status_code=http, media_type="application/xml",
                        headers={"Request-ID": uuid.uuid4().hex})  # fmt: skip

    def _authorised(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return request.headers.get("authorization") == expected

    def _xml(self, body: bytes) -> tuple[etree._Element | None, Response | None]:
        try:
            doc = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            return None, self.answer(4110, f"Malformed XML submittal: {exc}", http=400)
        if not self.schema.validate(doc):
            return None, self.answer(4100, f"Validation failed: {self.schema.error_log.last_error}", http=400)
        return doc, None

    def _open(self, report_id: str) -> tuple[FakeReport | None, Response | None]:
        report = self.reports.get(report_id)
        if report is None:
            return None, self.answer(5001, "Report does not exist", report_id, http=400)
        if report.status == "finished":
            return None, self.answer(5102, "Report already finished", report_id, http=400)
        if report.status == "retracted":
            return None, self.answer(5101, "Report already retracted", report_id, http=400)
        return report, None

    # -- endpoints -----------------------------------------------------------------------------------------
    async def dispatch(self, request: Request) -> Response:
        path = request.url.path.removeprefix("/ispws")
        self.requests.append((request.method, path))
        if not self._authorised(request):
            return self.answer(2000, "Authentication required", http=401)
        if path == "/status" and request.method == "GET":
            return self.answer(0, f"Remote User : {USER}, Remote Ip : 127.0.0.1")
        if request.method != "POST":
            return self.answer(4000, "Invalid request", http=405)
        if path == "/submit":
            doc, error = self._xml(await request.body())
            if error or doc is None or doc.tag != "report":
                return error or self.answer(4100, "Validation failed: not a <report>", http=400)
            report_id = str(self.next_id)
            self.next_id += 1
            self.reports[report_id] = FakeReport(await request.body())
            return self.answer(0, "Success", report_id)
        if path == "/fileinfo":
            doc, error = self._xml(await request.body())
            if error or doc is None or doc.tag != "fileDetails":
                return error or self.answer(4100, "Validation failed: not a <fileDetails>", http=400)
            report_id, file_id = doc.findtext("reportId") or "", doc.findtext("fileId") or ""
            report, error = self._open(report_id)
            if error or report is None:
                return error or self.answer(1000, "Server error", http=500)
            if file_id not in report.files:
                return self.answer(5002, "File does not exist", report_id, http=400)
            report.files[file_id].details = await request.body()
            return self.answer(0, "Success", report_id)
        form = await request.form()
        report_id = str(form.get("id", ""))
        report, error = self._open(report_id)
        if error or report is None:
            return error or self.answer(1000, "Server error", http=500)
        if path == "/upload":
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return self.answer(4200, "Malformed file submittal", report_id, http=400)
            data = await upload.read()
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            file_id = uuid.uuid4().hex
            report.files[file_id] = FakeFile(upload.filename or "", len(data), md5)
            returned = ("0" * 32) if self.corrupt_md5 else md5
            return self.answer(0, "Success", report_id, fileId=file_id, hash=returned)
        if path == "/finish":
            report.status = "finished"
            root = etree.Element("reportDoneResponse")
            etree.SubElement(root, "responseCode").text = "0"
            etree.SubElement(root, "reportId").text = report_id
            files = etree.SubElement(root, "files")
            for fid in report.files:
                etree.SubElement(files, "fileId").text = fid
            body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            return Response(body, media_type="application/xml", headers={"Request-ID": uuid.uuid4().hex})
        if path == "/retract":
            report.status = "retracted"
            return self.answer(0, "Success", report_id)
        return self.answer(1210, "Resource not found", http=404)


@contextmanager
def running_fake() -> Iterator[FakeNcmec]:
    """The fake on a free loopback port (uvicorn in a thread), at `fake.url` (…/ispws)."""
    fake = FakeNcmec()
    app = Starlette(routes=[Route("/ispws/{rest:path}", fake.dispatch, methods=["GET", "POST", "PUT"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake NCMEC did not start within 10 s")
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}/ispws"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

"""The service's commands end to end: `cordon user add`, `cordon cases import` (a cases.json written by the
analysis writer, one bad case left out with a message naming it), and `cordon serve` answering over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tests.e2e.service_world import make_dossier
from typer.testing import CliRunner

from cordon.app.reporting import AnalysisMeta, write_cases_json
from cordon.cli.main import app
from cordon.model import CaseStatus
from cordon.respond.state.store import StateStore

CORDON = str(Path(sys.executable).with_name("cordon"))
PW = "cli passphrase long"


def test_user_add_and_cases_import(state_url: str, tmp_path: Path) -> None:
    good = make_dossier("case-00000000000000d4")
    bad = make_dossier("case-00000000000000e5")
    bad = replace(bad, case=replace(bad.case, id="../../etc/passwd"))
    meta = AnalysisMeta("synthetic", "bank.csv", datetime(2024, 5, 21, tzinfo=UTC), 10, 5, 0, 0, 0.1)
    cases_json = tmp_path / "cases.json"
    write_cases_json(cases_json, meta, [good, bad])
    runner = CliRunner()
    added = runner.invoke(app, ["user", "add", "lead", "--role", "admin", "--role", "auditor", "--state", state_url],
                          env={"CORDON_NEW_PASSWORD": PW})  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added lead with roles admin, auditor" in added.output
    wrong = runner.invoke(app, ["user", "add", "x2", "--role", "boss", "--state", state_url],
                          env={"CORDON_NEW_PASSWORD": PW})  # fmt: skip
    assert wrong.exit_code == 1 and "role 'boss' does not exist" in wrong.output

    imported = runner.invoke(app, ["cases", "import", str(cases_json), "--state", state_url])
    assert imported.exit_code == 3, imported.output  # partial: one case left out
    assert "1 new" in imported.output and "1 left out" in imported.output
    assert "'../../etc/passwd'" in imported.output and "field 'id'" in imported.output
    again = runner.invoke(app, ["cases", "import", str(cases_json), "--state", state_url])
    assert "0 new, 0 updated, 1 unchanged" in again.output

    store = StateStore(state_url)
    try:
        assert store.status(good.case.id) is CaseStatus.OPEN
        actions = [(e.actor.startswith("cli:"), e.action) for e in store.audit_entries()]
        assert (True, "user.add") in actions and (True, "cases.import") in actions
        assert store.verify_audit().ok
    finally:
        store.close()
    listed = runner.invoke(app, ["user", "list", "--state", state_url])
    assert "lead" in listed.output and "admin, auditor" in listed.output


def test_cordon_serve_answers_over_http(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [CORDON, "serve", "--state", state, "--port", str(port), "--insecure-cookies", "--evidence",
         str(tmp_path / "evidence"), "--key", str(tmp_path / "key.pem")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "cordon serve did not start"
                time.sleep(0.2)
        assert login.status_code == 200 and "Log in" in login.text
        spec = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json").json()
        assert "/api/v1/cases/{case_id}/media/{sha256}/reveal" in spec["paths"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/queue").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_serve_refuses_a_missing_corpus(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--state", f"sqlite:///{tmp_path / 's.db'}", "--corpus",
                                      str(tmp_path / "nope.duckdb")])  # fmt: skip
    assert result.exit_code == 2 and "does not exist" in result.output

"""`cordon report` end to end on a state store and the loopback fake NCMEC: refused before confirmation,
then draft, approve, submit (credentials from the environment), show; the case ends reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.service_world import build_world
from tests.fakes.ncmec import PASSWORD, USER, XSD, running_fake
from typer.testing import CliRunner

from cordon.app import service_response
from cordon.cli.main import app
from cordon.respond import review
from cordon.respond.access import Principal, Role

A1 = "case-00000000000000a1"


def test_report_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    world = build_world(state, tmp_path)
    key = world.service.settings.signing_key
    runner = CliRunner()
    with running_fake() as fake:
        cfg = tmp_path / "ncmec.json"
        cfg.write_text(json.dumps({"base_url": fake.url, "xsd": str(XSD), "first_name": "Ada",
                                   "last_name": "Lovelace", "email": "ts@social.example",
                                   "four_eyes": False}))  # fmt: skip
        monkeypatch.setenv("CORDON_NCMEC_USERNAME", USER)
        monkeypatch.setenv("CORDON_NCMEC_PASSWORD", PASSWORD)
        base = ["--ncmec", str(cfg), "--state", state]
        refused = runner.invoke(app, ["report", "draft", A1, *base, "--key", key])
        assert refused.exit_code == 1 and "confirms it" in refused.output
        review.decide(world.service.store, A1, review.Decision.CONFIRM, "rev")
        service_response.preserve(
            world.service, A1, Principal("u", "rep", frozenset({Role.REPORTER}), "cli"), "copies"
        )
        drafted = runner.invoke(app, ["report", "draft", A1, *base, "--key", key])
        assert drafted.exit_code == 0, drafted.output
        rid = drafted.output.split()[1]
        assert rid.startswith("ncmec-") and "draft" in drafted.output
        early = runner.invoke(app, ["report", "submit", rid, *base, "--key", key])
        assert early.exit_code == 1 and "approves it before" in early.output
        assert runner.invoke(app, ["report", "approve", rid, *base]).exit_code == 0
        sent = runner.invoke(app, ["report", "submit", rid, *base, "--key", key])
        assert sent.exit_code == 0 and "finished, NCMEC report 4564654" in sent.output, sent.output
        shown = runner.invoke(app, ["report", "show", rid, "--state", state, "--transcript"])
        assert '"path": "/finish"' in shown.output and PASSWORD not in shown.output
        bad = runner.invoke(
            app, ["report", "draft", A1, "--ncmec", str(tmp_path / "missing.json"), "--state", state]
        )
        assert bad.exit_code == 2 and "missing.json" in bad.output
    assert world.service.store.status(A1) == "reported"
    world.service.close()

"""`cordon analyze` end to end on a simulated world: cases found, cases.json and report.html written, and a
re-run on a grown export doing only the new work."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from cordon.app.analyze import analyze
from cordon.app.evaluation import score
from cordon.app.reporting import SCHEMA, read_cases_json
from cordon.cli.main import app
from cordon.sim.truth import read_truth

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("analyze") / "world"
    result = runner.invoke(app, ["simulate", str(out), "--seed", "5", "--posts", "10000", "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


def test_analyze_finds_the_planted_network(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(world), "--bank", str(world / "bank.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "child-safety case(s)" in result.output
    doc = read_cases_json(out / "cases.json")
    assert doc.schema == SCHEMA
    raw = json.loads((out / "cases.json").read_text())
    assert {"schema", "meta", "cases"} <= raw.keys()
    truth = read_truth(world / "truth.json")
    s = score(truth, doc)
    # the goals of `make eval` hold on this small world too (this is a test, so the bar is a little lower)
    assert s.network_recall >= 0.9 and s.network_precision >= 0.9, s
    assert sum(s.decoys_flagged.values()) == 0, s.decoys_flagged
    assert s.flooded_found == 1.0 and s.burst_tags_flagged == 0, s
    assert s.novel_queued >= 0.8, s
    assert doc.meta.matches >= len(truth.network_media_matching) > 0

    html = (out / "report.html").read_text()
    assert "<svg" in html
    # self-contained: nothing loaded from elsewhere, no media embedded
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", html)
    assert "<img" not in html
    child = [c for c in doc.cases if c.case.label.value == "child-safety"]
    assert child and child[0].case.id in html


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_rerun_on_a_grown_export_does_only_the_new_work(world: Path, tmp_path: Path) -> None:
    grown = tmp_path / "export"
    shutil.copytree(world, grown)
    statuses = _lines(world / "statuses.jsonl")
    cut = len(statuses) * 2 // 3
    (grown / "statuses.jsonl").write_bytes(b"".join(statuses[:cut]))
    out = tmp_path / "out"
    first = analyze(grown, grown / "bank.csv", out)
    assert first.ingest.resumed_from is None
    with (grown / "statuses.jsonl").open("ab") as f:
        f.write(b"".join(statuses[cut:]))
    second = analyze(grown, grown / "bank.csv", out)
    assert second.ingest.resumed_from is not None  # resumed from the cursor, not read again
    assert 0 < second.ingest.posts_read < first.ingest.posts_read
    # media: each file hashed once over the two runs, as many as one run over the whole export
    whole = analyze(world, world / "bank.csv", tmp_path / "whole")
    assert first.hashed + second.hashed == whole.hashed
    assert second.hashed < whole.hashed
    # the grown corpus gives the same cases as the whole export analysed at once
    grown_doc = msgspec.to_builtins(read_cases_json(out / "cases.json").cases)
    whole_doc = msgspec.to_builtins(read_cases_json(tmp_path / "whole" / "cases.json").cases)
    assert grown_doc == whole_doc

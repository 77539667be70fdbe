"""`cordon simulate` end to end: a 10,000-post world that `cordon ingest` stores with nothing quarantined."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from cordon.cli.main import app
from cordon.sim.truth import read_truth

runner = CliRunner()


def test_simulate_then_ingest_stores_everything(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = runner.invoke(app, ["simulate", str(out), "--seed", "3", "--posts", "10000", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "posts/s" in result.output
    truth = read_truth(out / "truth.json")
    assert truth.seed == 3 and truth.params["posts"] == 10_000
    db = tmp_path / "corpus.duckdb"
    ingest = runner.invoke(app, ["ingest", str(out), "--db", str(db)])
    assert ingest.exit_code == 0, ingest.output
    stats = runner.invoke(app, ["stats", "--db", str(db), "--json"])
    figures = json.loads(stats.stdout)["tables"]
    assert figures["quarantine"] == {"all": 0}
    assert figures["accounts"] == {"mastodon": truth.accounts}
    assert figures["posts"] == {"mastodon": truth.posts}
    assert figures["moderation"] == {"mastodon": len(truth.suspended_accounts)}

    again = runner.invoke(app, ["simulate", str(out), "--posts", "10000"])
    assert again.exit_code == 2
    assert "already holds a simulated world" in again.output


def test_bad_options_are_refused_with_the_option_named(tmp_path: Path) -> None:
    small = runner.invoke(app, ["simulate", str(tmp_path / "w"), "--posts", "100"])
    assert small.exit_code == 2 and "--posts" in small.output
    big = runner.invoke(app, ["simulate", str(tmp_path / "w"), "--posts", "5000", "--network-size", "5000"])
    assert big.exit_code == 2 and "--network-size" in big.output


def test_help_explains_every_option() -> None:
    result = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    text = re.sub(r"\s+", " ", result.output)
    for option, words in {
        "--seed": "identical files",
        "--scale": "100,000 posts",
        "--posts": "overrides --scale",
        "--network-size": "amplifier bots",
        "--days": "window",
        "--accounts": "Benign accounts",
        "--vary": "evader delay",
        "--progress": "progress",
    }.items():
        assert option in text and words in text, option

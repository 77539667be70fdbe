"""The `cordon` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cordon",
    help=(
        "cordon finds the account networks that distribute child sexual abuse material on social platforms, "
        "and supports the response. Media is never shown or sent anywhere by these commands."
    ),
    no_args_is_help=True,
    add_completion=False,
)

# sub-command modules (each defines `register(app)`)
from cordon.cli import corpus_cmds  # noqa: E402

corpus_cmds.register(app)

from cordon.cli import media_cmds  # noqa: E402

media_cmds.register(app)

from cordon.cli import bank_cmds  # noqa: E402

bank_cmds.register(app)

from cordon.cli import doctor_cmds  # noqa: E402

doctor_cmds.register(app)

from cordon.cli import analyze_cmds  # noqa: E402

analyze_cmds.register(app)

from cordon.cli import sim_cmds  # noqa: E402

sim_cmds.register(app)

from cordon.cli import serve_cmds  # noqa: E402

serve_cmds.register(app)

from cordon.cli import report_cmds, respond_cmds  # noqa: E402

respond_cmds.register(app)
report_cmds.register(app)


def main() -> None:
    app()

"""What `customerhub` shows: a table on a terminal, the plain lines scripts parse when piped,
a live bar with events/s and ETA, and exit codes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from customerhub.cli import _parser, main
from customerhub.console import LogProgress, Summary


def _summary() -> Summary:
    summary = Summary("replay", ("projection", "generation"), plain_header="projection gen")
    summary.add(("customers", "1 -> 2"), plain="customers: generation 1 -> 2")
    return summary


def test_a_summary_is_a_table_on_a_terminal() -> None:
    out = io.StringIO()
    _summary().show(Console(file=out, force_terminal=True, width=60, color_system=None))
    table = out.getvalue()
    assert "replay" in table and "┃ projection" in table and "│ customers" in table
    assert "1 -> 2" in table and "customers: generation" not in table


def test_a_summary_piped_is_the_plain_lines() -> None:
    out = io.StringIO()
    _summary().show(Console(file=out, force_terminal=False))
    assert out.getvalue() == "projection gen\ncustomers: generation 1 -> 2\n"


def test_the_progress_bar_shows_positions_rate_and_eta() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with LogProgress("customers", console) as progress:
        progress(100, 1000)
        progress(400, 1000)
        progress(1000, 1000)
    shown = out.getvalue()
    assert "customers" in shown and "1000/1000" in shown and "100%" in shown
    assert "ev/s" in shown and "ETA" in shown


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    for command in ("run", "token", "replay", "projections", "relay", "consume", "audit"):
        assert command in shown


def test_usage_errors_exit_2_and_commands_keep_their_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["no-such-command"]) == 2
    assert main(["consume", "invoices"]) == 2
    assert "unknown consumer(s): invoices" in capsys.readouterr().err
    _parser().parse_args(["consume", "customers"])
    with pytest.raises(SystemExit):
        _parser().parse_args(["relay", "--twice"])

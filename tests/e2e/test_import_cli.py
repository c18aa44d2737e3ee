"""`customerhub import FILE [--dry-run]` from the shell: the same import as the API's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from customerhub.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CUSTOMERHUB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CUSTOMERHUB_LOG_LEVEL", "WARNING")
    return tmp_path / "var"


def customers_file(tmp_path: Path) -> Path:
    path = tmp_path / "clients.csv"
    path.write_text("name;city\nGarage Alpha;Paris\nGarage Beta;Lyon\n;Nantes\n", "cp1252")
    return path


def customer_events(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "events.db") as db:
        row = db.execute("SELECT COUNT(*) FROM events WHERE stream LIKE 'customer-%'").fetchone()
    return int(row[0])


def test_a_dry_run_reports_and_writes_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(customers_file(tmp_path)), "--dry-run"]) == 0
    report = capsys.readouterr().err
    assert "created 2" in report and "failed 1" in report
    assert "row 4, name:" in report
    assert customer_events(data_dir) == 0


def test_an_import_creates_then_a_second_run_changes_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = customers_file(tmp_path)
    assert main(["import", str(path)]) == 0
    assert "created 2" in capsys.readouterr().err
    written = customer_events(data_dir)
    assert written == 2
    assert main(["import", str(path)]) == 0
    assert "unchanged 2" in capsys.readouterr().err
    assert customer_events(data_dir) == written


def test_an_unreadable_file_exits_2_with_the_reason(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert main(["import", str(path)]) == 2
    assert "header" in capsys.readouterr().err

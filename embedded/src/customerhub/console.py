"""What the CLI shows an operator: a live progress bar on stderr, summary tables on stdout.

On a terminal the tables are rich tables; piped, they are aligned plain lines, one per row,
in the format scripts and tests already parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text


class EventRate(ProgressColumn):
    """Events (log positions) applied per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = f"{speed:,.0f} ev/s" if speed else "- ev/s"
        return Text(shown, style="progress.data.speed")


class LogProgress:
    """A live bar while a projection catches up with the log: positions done of the head,
    events/s and ETA. Called as the projector's `progress(position, until)`."""

    def __init__(self, label: str, console: Console | None = None) -> None:
        self._bar = Progress(
            TextColumn("[bold cyan]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            EventRate(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task: TaskID = self._bar.add_task(label, total=None)
        self._started = False

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def __call__(self, position: int, until: int | None) -> None:
        total = until if until is not None else position
        if not self._started:
            # A resumed replay starts past 0: that part is not this run's speed.
            self._bar.reset(self._task, total=total, completed=position)
            self._started = True
            return
        self._bar.update(self._task, total=total, completed=position)


@dataclass
class Summary:
    """A table of results: `plain` lines (header, then one per row) when not on a terminal."""

    title: str
    columns: Sequence[str]
    plain_header: str | None = None
    rows: list[Sequence[str]] = field(default_factory=list)
    plain_rows: list[str] = field(default_factory=list)

    def add(self, cells: Sequence[object], *, plain: str) -> None:
        self.rows.append([str(cell) for cell in cells])
        self.plain_rows.append(plain)

    def show(self, console: Console | None = None) -> None:
        console = console or Console()
        if not console.is_terminal:
            lines = [self.plain_header] if self.plain_header is not None else []
            console.file.write("".join(f"{line}\n" for line in [*lines, *self.plain_rows]))
            console.file.flush()
            return
        table = Table(title=self.title, title_style="bold", header_style="bold cyan")
        for number, column in enumerate(self.columns):
            table.add_column(column, justify="left" if number == 0 else "right")
        for row in self.rows:
            table.add_row(*row)
        console.print(table)

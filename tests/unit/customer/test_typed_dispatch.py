"""The command table is typed: a change that reads an attribute its command lacks fails mypy."""

from __future__ import annotations

from pathlib import Path

from mypy import api

WRONG = """
from customer_command.application import commands as c
from customer_command.application.handlers import _change

_change(c.AddLabel, lambda customer, cmd: customer.add_label(cmd.contact_id))
_change(c.AddLabel, lambda customer, cmd: customer.add_label(cmd.label))
"""


def test_a_change_reading_another_commands_attribute_fails_the_type_check(
    tmp_path: Path,
) -> None:
    module = tmp_path / "wrong_change.py"
    module.write_text(WRONG)
    out, _, status = api.run(["--strict", "--no-incremental", str(module)])
    assert status == 1
    assert '"AddLabel" has no attribute "contact_id"' in out
    assert out.count("error:") == 1, out

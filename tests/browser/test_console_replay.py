"""The operations screen's replay status: each read model's generation serving, a rebuild in
progress with how far it got, and the switch once `customerhub replay` has finished."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import Console, unique

# What `customerhub replay` records as it starts a rebuild (and leaves when interrupted).
START_REBUILD = """
import asyncio, sys
from pathlib import Path
from customerhub_shared.readstore.sqlite import SQLiteReadStore

async def main() -> None:
    store = await SQLiteReadStore.open(Path(sys.argv[1]) / "read.db")
    active, _ = await store.generations("customers")
    await store.set_generations("customers", active, active + 1)
    await store.close()

asyncio.run(main())
"""


def run(data_dir: Path, *command: str) -> None:
    env = {**os.environ, "CUSTOMERHUB_DATA_DIR": str(data_dir), "CUSTOMERHUB_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, *command], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()


def test_operations_show_a_rebuild_in_progress_then_the_generation_it_switched_to(
    console: Console, console_data_dir: Path
) -> None:
    console.sign_in()
    console.create_customer(unique("Menuiserie Blanc"))
    console.open("/console/operations")
    models = console.page.get_by_role("table", name=re.compile("Read models and their replay"))
    customers = models.get_by_role("row").filter(has_text="customers")
    expect(customers).to_contain_text("No rebuild in progress")
    serving = customers.get_by_role("cell").nth(1).inner_text()

    run(console_data_dir, "-c", START_REBUILD, str(console_data_dir))
    console.page.reload()
    building = int(serving) + 1
    expect(customers).to_contain_text(f"Generation {building} being rebuilt: 0%")
    expect(
        console.page.get_by_role("progressbar", name=re.compile("being rebuilt"))
    ).to_be_visible()
    expect(models.get_by_role("row").filter(has_text="equipment")).to_contain_text(
        "No rebuild in progress"
    )
    console.screen("operations-replay")

    run(console_data_dir, "-m", "customerhub.cli", "replay", "customers")  # resumes, switches
    console.page.reload()
    expect(customers).to_contain_text("No rebuild in progress")
    expect(customers.get_by_role("cell").nth(1)).to_have_text(str(building))

"""paused_gc: no automatic collection inside, the collector's state restored after."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from luminamind.startup import paused_gc


def test_collection_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("start-up failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_freeze_moves_start_up_objects_out_of_collections() -> None:
    try:
        with paused_gc(freeze=True):
            pass
        assert gc.get_freeze_count() > 0  # everything alive at the exit
    finally:
        gc.unfreeze()


def test_the_cli_freezes_its_imports() -> None:
    # Unfrozen, the first collection after the block would walk every object its imports created.
    code = "import gc, luminamind.cli; print(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) > 10_000

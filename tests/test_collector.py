"""dockpy.collector: a pause of dockpy's own is undone, a program's own setting is left alone."""

import gc

import pytest

import dockpy.cli  # noqa: F401  (as the cli tests' modules do: it pauses the collector, at collection time)
from dockpy import collector


@pytest.fixture(autouse=True)
def collector_as_it_was(monkeypatch):
    enabled = gc.isenabled()
    monkeypatch.setattr(collector, "_paused_here", False)  # importing dockpy.cli pauses it: start from no pause
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_the_tests_run_with_the_collector_though_their_modules_import_dockpy_cli():
    assert gc.isenabled()


def test_resume_turns_the_collector_back_on_with_what_exists_frozen():
    gc.enable()
    collector.pause()
    assert not gc.isenabled()
    collector.resume()
    assert gc.isenabled() and gc.get_freeze_count() > 0


def test_resume_without_leaving_out_freezes_nothing():
    gc.enable()
    collector.pause()
    collector.resume(leave_out_what_exists=False)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_collector_the_program_turned_off_stays_off():
    gc.disable()
    collector.pause()
    collector.resume()
    assert not gc.isenabled() and gc.get_freeze_count() == 0


def test_a_second_resume_does_nothing():
    gc.enable()
    collector.pause()
    collector.resume()
    gc.disable()  # the program's own choice after dockpy's resume
    collector.resume()
    assert not gc.isenabled()

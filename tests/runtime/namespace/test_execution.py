"""How a failure in the container's process gets back to dockpy: the status pipe."""

import os
import sys

from dockpy.runtime.namespace.execution import EXIT_SETUP_FAILED, exit_reporting_failure, read_status


def report_of(action) -> tuple[int, tuple[int, str] | None]:
    """Run ``action`` in a forked child as the container's process does; (exit code, status pipe's report)."""
    status_read, status_write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(status_read)
        exit_reporting_failure(status_write, action)
    os.close(status_write)
    report = read_status(status_read)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status), report


def test_a_crash_is_reported_even_when_no_module_can_be_imported_any_more():
    def crash():
        sys.modules["traceback"] = None  # as after pivot_root: the host's modules are out of reach
        raise RuntimeError("boom")

    code, (reported_code, message) = report_of(crash)
    assert code == reported_code == EXIT_SETUP_FAILED
    assert message.startswith("container setup crashed: RuntimeError: boom (at ") and "in crash" in message


def test_an_action_that_returns_reports_nothing():
    assert report_of(lambda: None) == (0, None)

"""The gc lease: writers share it, the collector takes it alone."""

import pytest

from dockpy.errors import ConflictError
from dockpy.image.lease import collector_lease, write_lease


def test_writers_share_the_lease(storage_root):
    with write_lease(storage_root), write_lease(storage_root):
        pass


def test_the_collector_cannot_start_while_a_writer_holds_the_lease(storage_root):
    with write_lease(storage_root), pytest.raises(ConflictError):
        with collector_lease(storage_root, wait=False):
            pass


def test_the_collector_gets_the_lease_once_writers_are_done(storage_root):
    with write_lease(storage_root):
        pass
    with collector_lease(storage_root, wait=False):
        pass

"""Registry names: where an image lives; transfers in parallel."""

import threading
import time

import pytest

from dockpy.errors import InvalidInputError
from dockpy.image.registry.remote import RemoteImage, in_parallel


def test_a_revision_reference_cannot_be_pushed():
    with pytest.raises(InvalidInputError, match="no revisions"):
        RemoteImage.parse("localhost:5000/app:1@2")


def test_remote_names_map_to_registry_and_repository():
    remote = RemoteImage.parse("localhost:5000/team/app")
    assert (remote.registry, remote.repository, remote.reference) == ("localhost:5000", "team/app", "latest")
    hub = RemoteImage.parse("busybox:1.36")
    assert (hub.registry, hub.repository, hub.reference) == ("registry-1.docker.io", "library/busybox", "1.36")


def test_meanwhile_runs_on_the_calling_thread_while_the_transfers_run():
    recorded = threading.Event()
    saw_the_record = []
    in_parallel(lambda item: saw_the_record.append(recorded.wait(timeout=10)), range(3), meanwhile=recorded.set)
    assert saw_the_record == [True, True, True]


def test_a_failure_of_meanwhile_is_raised_after_every_transfer_finished():
    finished = []

    def fail():
        raise RuntimeError("could not record")

    with pytest.raises(RuntimeError, match="could not record"):
        in_parallel(lambda item: (time.sleep(0.05), finished.append(item)), range(3), meanwhile=fail)
    assert sorted(finished) == [0, 1, 2]

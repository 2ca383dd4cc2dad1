"""Registry names: where an image lives."""

import pytest

from dockpy.errors import InvalidInputError
from dockpy.image.registry.remote import RemoteImage


def test_a_revision_reference_cannot_be_pushed():
    with pytest.raises(InvalidInputError, match="no revisions"):
        RemoteImage.parse("localhost:5000/app:1@2")


def test_remote_names_map_to_registry_and_repository():
    remote = RemoteImage.parse("localhost:5000/team/app")
    assert (remote.registry, remote.repository, remote.reference) == ("localhost:5000", "team/app", "latest")
    hub = RemoteImage.parse("busybox:1.36")
    assert (hub.registry, hub.repository, hub.reference) == ("registry-1.docker.io", "library/busybox", "1.36")

"""Fixtures for command-line tests: rootfs tars, and the builder's busybox storage root."""

from tests.build.conftest import build_root, busybox_root  # noqa: F401  (fixtures re-exported)
from tests.rootfs_fixtures import busybox_tar  # noqa: F401  (registers the session fixture)

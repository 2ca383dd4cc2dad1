"""Fixtures for command-line tests."""

from tests.rootfs_fixtures import busybox_tar  # noqa: F401  (registers the session fixture)

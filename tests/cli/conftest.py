"""The builder's session-scoped busybox root, for the build command's end-to-end tests."""

from tests.build.conftest import build_root, busybox_root  # noqa: F401  (fixtures re-exported)

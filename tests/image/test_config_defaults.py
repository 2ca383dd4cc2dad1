"""The image-config defaults both the builder and the runtime read."""

import subprocess
import sys

from dockpy.image.config_defaults import DEFAULT_PATH


def test_default_path_is_dockers_search_order_with_sbin_first():
    assert DEFAULT_PATH.split(":") == ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]


def test_importing_the_defaults_loads_no_other_dockpy_module_so_the_runtime_may_read_them():
    probe = "import sys, dockpy.image.config_defaults; print(sorted(m for m in sys.modules if m.startswith('dockpy')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['dockpy', 'dockpy.image', 'dockpy.image.config_defaults']"

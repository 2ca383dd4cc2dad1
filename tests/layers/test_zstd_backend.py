"""zstandard's C backend loaded alone: no ``platform`` or ``typing``, the same classes as ``import zstandard``.

Each case runs in a fresh interpreter: what matters is what gets imported first.
"""

import subprocess
import sys


def _run(code: str) -> str:
    script = "import sys\nfrom dockpy.layers.zstd_backend import zstandard\n" + code
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def test_the_backend_loads_without_the_package_platform_or_typing():
    output = _run("z = zstandard()\n"
                  "print(z.__name__, [m for m in ('zstandard', 'platform', 'typing') if m in sys.modules])")
    assert output == "zstandard.backend_c []"


def test_the_backend_compresses_what_it_decompresses():
    output = _run("z = zstandard()\n"
                  "frame = z.ZstdCompressor(level=3).compress(b'layer' * 1000)\n"
                  "print(z.ZstdDecompressor().decompress(frame) == b'layer' * 1000)")
    assert output == "True"


def test_a_later_import_of_the_package_exports_the_same_classes():
    output = _run("z = zstandard()\nimport zstandard as package\n"
                  "print(package.ZstdError is z.ZstdError, package.ZstdCompressor is z.ZstdCompressor)")
    assert output == "True True"


def test_after_the_package_is_imported_its_own_backend_is_what_is_returned():
    output = _run("import zstandard as package\nprint(zstandard() is sys.modules['zstandard.backend_c'], "
                  "zstandard().ZstdError is package.ZstdError)")
    assert output == "True True"


def test_a_package_without_a_c_backend_is_imported_as_usual(tmp_path):
    package = tmp_path / "zstandard"
    package.mkdir()
    (package / "__init__.py").write_text("BACKEND = 'cffi only'\n")
    output = _run(f"sys.path.insert(0, {str(tmp_path)!r})\nz = zstandard()\nprint(z.__name__, z.BACKEND)")
    assert output == "zstandard cffi only"

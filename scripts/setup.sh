#!/usr/bin/env bash
# Installs everything dockpy needs on a Debian 12 machine, as root; idempotent.
#   - the Debian packages listed in scripts/packages.txt (only the missing ones)
#   - a virtualenv in .venv with dockpy installed editable, plus its test extra, without setuptools
# Re-running it is fast: apt and pip are skipped when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r package; do
    [ -n "$package" ] || continue
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done < <(sed 's/#.*//' scripts/packages.txt)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's interpreter, so the environment is the same on every fresh machine.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating virtualenv .venv"
    "$python" -m venv .venv
fi
stamp=.venv/.dockpy-installed-compat
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing dockpy and its Python dependencies into .venv"
    .venv/bin/pip install --quiet --upgrade pip
    # compat mode puts the checkout on sys.path through a plain .pth line; the
    # default (strict) mode installs an import hook that costs every dockpy
    # command ~18 ms of start-up (it imports pathlib, re and importlib.util).
    # (setuptools calls compat mode deprecated; the warning is silenced, not the errors.)
    PYTHONWARNINGS=ignore .venv/bin/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
    touch "$stamp"
fi
# Nothing dockpy runs or tests needs setuptools in the venv (pip builds dockpy in an isolated
# environment with its own), while its distutils-precedence.pth makes every Python started in
# the venv import _distutils_hack: ~1.5 ms of every dockpy command. (Python 3.12's venv no
# longer installs setuptools at all.)
if compgen -G '.venv/lib/python3*/site-packages/distutils-precedence.pth' >/dev/null; then
    echo "setup: removing setuptools from .venv (not needed at run time)"
    .venv/bin/pip uninstall --quiet --yes setuptools
fi

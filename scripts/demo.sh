#!/usr/bin/env bash
# The main job: set up the machine, then parse examples/Dockerfile.
# (When `dockpy build` lands, this builds the example image and runs it.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DOCKPY_ROOT="${DOCKPY_ROOT:-/var/lib/dockpy}"
dockpy=.venv/bin/dockpy
"$dockpy" parse -f examples/Dockerfile --format moby

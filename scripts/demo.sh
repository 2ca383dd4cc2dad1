#!/usr/bin/env bash
# The main job: set up the machine, build the example site with dockpy and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DOCKPY_ROOT="${DOCKPY_ROOT:-/var/lib/dockpy}"
dockpy=.venv/bin/dockpy
"$dockpy" parse -f examples/Dockerfile --format moby
# FROM busybox comes from the offline busybox template the first time.
"$dockpy" build --progress plain -t example-site examples
"$dockpy" history example-site
"$dockpy" run --rm example-site cat /srv/www/index.html

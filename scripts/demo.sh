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
# Serve it: busybox httpd in its own network namespace, published on the host's port 8080; fetch a page, stop it.
"$dockpy" rm -f example-site-demo >/dev/null 2>&1 || true
"$dockpy" run -d -p 8080:8080 --name example-site-demo example-site
trap '"$dockpy" rm -f example-site-demo >/dev/null' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do
    if busybox wget -q -O - http://127.0.0.1:8080/changelog.html; then break; fi
    sleep 0.5
done

#!/bin/sh
# check-links.sh SITE_DIR: fails if a page links to a local page that does not exist.
set -eu
site=$1 broken=0
for page in "$site"/*.html; do
    for target in $(grep -o 'href="[^"]*"' "$page" | sed 's/^href="//; s/"$//'); do
        case $target in
            http://*|https://*|mailto:*) continue ;;
        esac
        if [ ! -e "$site/${target%%#*}" ]; then
            echo "broken link in $(basename "$page"): $target" >&2
            broken=1
        fi
    done
done
[ "$broken" -eq 0 ] && echo "all local links resolve"

#!/bin/sh
# render.sh PAGES_DIR OUT_DIR VERSION
# Renders a small Markdown subset (# headings, paragraphs, "- " lists,
# [text](target) links, `code`) to HTML pages with a shared header and footer.
set -eu
pages=$1 out=$2 version=$3
mkdir -p "$out"
for page in "$pages"/*.md; do
    name=$(basename "$page" .md)
    title=$(sed -n 's/^# //p' "$page" | head -n 1)
    {
        printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>%s</title></head><body>\n' "$title"
        awk '
            function inline(s) {
                gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
                s = gensub_links(s)
                while (match(s, /`[^`]+`/)) s = substr(s, 1, RSTART - 1) "<code>" substr(s, RSTART + 1, RLENGTH - 2) "</code>" substr(s, RSTART + RLENGTH)
                return s
            }
            function gensub_links(s,   text, target, pre, post) {
                while (match(s, /\[[^]]+\]\([^)]+\)/)) {
                    pre = substr(s, 1, RSTART - 1); post = substr(s, RSTART + RLENGTH)
                    text = substr(s, RSTART + 1); sub(/\].*/, "", text)
                    target = substr(s, RSTART); sub(/^[^(]*\(/, "", target); sub(/\).*/, "", target)
                    s = pre "<a href=\"" target "\">" text "</a>" post
                }
                return s
            }
            function close_blocks() { if (in_list) print "</ul>"; if (in_para) print "</p>"; in_list = in_para = 0 }
            /^#+ / { close_blocks(); level = index($0, " ") - 1; print "<h" level ">" inline(substr($0, level + 2)) "</h" level ">"; next }
            /^- / { if (in_para) { print "</p>"; in_para = 0 } if (!in_list) { print "<ul>"; in_list = 1 } print "<li>" inline(substr($0, 3)) "</li>"; next }
            /^$/ { close_blocks(); next }
            { if (in_list) { print "</ul>"; in_list = 0 } if (!in_para) { print "<p>"; in_para = 1 } print inline($0) }
            END { close_blocks() }
        ' "$page"
        printf '<footer>site version %s</footer>\n</body></html>\n' "$version"
    } > "$out/$name.html"
done
printf '%s\n' "$version" > "$out/version.txt"
echo "rendered $(ls "$pages"/*.md | wc -l) pages into $out (version $version)"

#!/usr/bin/env bash
# Draws every picture the project makes and opens each one in a real browser (headless
# Chromium): the election and Figure 8 timelines, the key/value run's timeline and
# history, and docs/figure16.svg. Saves a screenshot of each, plus zoomed views that
# run the timeline's zoom script, and fails if the browser reports a script error or
# the script did not run.
#
#     bash .ci/screenshots.sh [OUT_DIR]      # default: target/screenshots
#
# Run by hand, not by CI (CI has no browser). Needs chromium (Debian: apt-get install
# chromium), chromium-browser or google-chrome. Every run is on the simulated runtime,
# so the pictures are the same each time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/screenshots}
mkdir -p "$out"
out=$(cd "$out" && pwd)

browser=""
for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then
        browser=$b
        break
    fi
done
if [ -z "$browser" ]; then
    echo "error: no headless browser found (tried chromium, chromium-browser, google-chrome)." >&2
    echo "Install one, e.g. on Debian or Ubuntu: apt-get install chromium" >&2
    exit 2
fi
flags=(--headless --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0
       --virtual-time-budget=3000)
# Chromium refuses to run as root with its sandbox on.
if [ "$(id -u)" = 0 ]; then flags+=(--no-sandbox); fi

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# shot NAME FILE WIDTH HEIGHT [#FRAGMENT]: a screenshot of FILE, checked for script errors.
shot() {
    local name=$1 file=$2 w=$3 h=$4 frag=${5:-}
    local png="$out/$name.png" log="$out/$name.log"
    if [ ! -s "$file" ]; then
        fail "$name: $file was not written"
        return
    fi
    "$browser" "${flags[@]}" --screenshot="$png" --window-size="$w,$h" \
        "file://$(realpath "$file")$frag" >"$log" 2>&1 || true
    if [ ! -s "$png" ]; then
        fail "$name: no screenshot (see $log)"
    elif grep -E "Uncaught|CONSOLE.*(Error|error)" "$log"; then
        fail "$name: the page reported a script error (see $log)"
    else
        echo "ok   $png"
    fi
}

# zoomed NAME FILE A B: the timeline zoomed to A..B ms by its own script; checks the
# script ran (it writes the range it shows) and took no error.
zoomed() {
    local name=$1 file=$2 a=$3 b=$4
    shot "$name" "$file" 1400 1000 "#zoom=$a-$b"
    local dom
    dom=$("$browser" "${flags[@]}" --dump-dom --window-size=1400,1000 \
        "file://$(realpath "$file")#zoom=$a-$b" 2>/dev/null || true)
    if ! grep -q 'id="zoomrange">showing ' <<<"$dom"; then
        fail "$name: the zoom script did not run"
    fi
}

pages=$out/pages
mkdir -p "$pages"
echo "drawing the pictures into $pages"
cargo build -q --example election --example figure8 --example kv
# What the examples print goes to a log: figure 8's unsafe run reports its violations.
log=$pages/examples.log
cargo run -q --example election -- --sim --seed 7 --timeline "$pages/election.html" >"$log" 2>&1
cargo run -q --example figure8 -- --timeline "$pages/figure8.html" >>"$log" 2>&1
cargo run -q --example kv -- --sim --seed 1 --secs 5 --html "$pages/kv-history.html" \
    --timeline "$pages/kv-timeline.html" >>"$log" 2>&1

echo "screenshots with $browser into $out"
shot election "$pages/election.html" 1400 1000
zoomed election-zoomed "$pages/election.html" 212 216
for f in "$pages"/figure8*.html; do
    shot "$(basename "$f" .html)" "$f" 1400 1000
done
shot kv-timeline "$pages/kv-timeline.html" 1400 1000
zoomed kv-timeline-zoomed "$pages/kv-timeline.html" 700 1500
shot kv-history "$pages/kv-history.html" 1400 1600
shot figure16 docs/figure16.svg 920 780

if [ "$failures" -gt 0 ]; then
    echo "$failures picture(s) failed" >&2
    exit 1
fi
echo "every picture opened without a script error; look at them in $out"

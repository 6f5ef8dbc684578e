#!/bin/sh
# Installs what the operator console's browser test needs (issue #12;
# test/integration/console-browser.test.ts, docs/operations.md §12):
#   - Debian's chromium, which the test drives headless with playwright-core
#     at /usr/bin/chromium (playwright's own browser downloads are not used:
#     only Debian's packages and the npm registry can be reached);
#   - fonts for legible screenshots (DejaVu, and Liberation for the metrics
#     of common web fonts).
# Needs root when something is missing. Safe to run again: with chromium and
# the fonts in place it changes nothing and does not call apt-get.
#
# Usage: scripts/install-chromium.sh
set -eu

case "${1:-}" in
  -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
  "") ;;
  *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
esac

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
for font in fonts-dejavu-core fonts-liberation; do
  installed "$font" || need="$need $font"
done

if [ -z "$need" ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1) and its fonts are installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "scripts/install-chromium.sh needs root to apt-get install$need" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "chromium: apt-get install$need"
apt-get update -qq
apt-get install -y -qq --no-install-recommends $need >/dev/null
[ -x /usr/bin/chromium ] || { echo "chromium: installed, but /usr/bin/chromium is missing" >&2; exit 1; }
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"

#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests: Playwright drives it through
# `executable_path`, since Playwright's own browser download cannot work on the build machines.
#
#   scripts/chromium.sh     print the browser's path; install it with apt-get first when missing
#                           (as root, or through passwordless sudo); exit 1 with the reason when
#                           it cannot, so that the browser tests fail rather than skip
#
# Settings: CUSTOMERHUB_CHROMIUM (/usr/bin/chromium), the browser's path.
set -euo pipefail

BROWSER="${CUSTOMERHUB_CHROMIUM:-/usr/bin/chromium}"
say() { echo "chromium.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [[ ! -x "$BROWSER" ]]; then
    command -v apt-get >/dev/null || die "$BROWSER is missing and there is no apt-get to install it"
    if [[ "$(id -u)" -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        die "$BROWSER is missing; install it as root: apt-get install -y chromium"
    fi
    say "installing Debian's chromium (apt-get)"
    "${as_root[@]}" apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >&2 \
        || die "apt-get install chromium failed"
fi
[[ -x "$BROWSER" ]] || die "$BROWSER is still missing after apt-get install chromium"
"$BROWSER" --version >/dev/null 2>&1 || die "$BROWSER does not start (--version failed)"
echo "$BROWSER"

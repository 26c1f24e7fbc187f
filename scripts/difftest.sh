#!/usr/bin/env bash
# The differential campaign: kernel overlayfs as the oracle for shiftoverlay.
#
# Builds (release) and runs shiftoverlay-difftest over many seeds: for each seed a random layer
# stack (2-3 lowers + upper, with whiteouts, opaque dirs, hard links, symlinks, xattrs, odd modes
# and owners) is generated, copied twice, mounted once with shiftoverlay and once with kernel
# overlayfs, and the same random operations are applied to both, comparing each op's result and
# the whole visible tree after every op. A mismatch is shrunk (delta debugging) and printed as a
# ready-to-paste Swift Testing regression test; the exit status is then 1.
#
# The tester re-executes itself under `unshare -m --propagation private`, so no mount leaks.
#
#   bash scripts/difftest.sh                      # seeds 1..200, 300 ops each, at most 30 min
#   SEEDS=1000..1100 OPS=500 TIME=600 bash scripts/difftest.sh
#   MODE=metacopy bash scripts/difftest.sh        # kernel metacopy=on,redirect_dir=on vs shiftoverlay metacopy=on
#   bash scripts/difftest.sh --seed 42 --ops 1000 # any tester options are passed on instead
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_deps libfuse3-dev libattr1-dev fuse3 attr coreutils util-linux
need_swift

echo "== swift build -c release"
swift build -c release --static-swift-stdlib --product shiftoverlay >/dev/null
swift build -c release --static-swift-stdlib --product shiftoverlay-difftest >/dev/null
bin=.build/release/shiftoverlay-difftest

if [ $# -gt 0 ]; then
    exec "${SUDO[@]}" "$bin" "$@"
fi
SEEDS=${SEEDS:-1..200}
OPS=${OPS:-300}
TIME=${TIME:-1800}
MODE=${MODE:-plain}
case "$MODE" in
    plain) mode_args=() ;;
    metacopy) mode_args=(--metacopy) ;;
    *) echo "difftest.sh: MODE=$MODE: expected plain or metacopy" >&2; exit 2 ;;
esac
echo "== shiftoverlay-difftest --seeds $SEEDS --ops $OPS --time $TIME ${mode_args[*]}"
exec "${SUDO[@]}" "$bin" --seeds "$SEEDS" --ops "$OPS" --time "$TIME" "${mode_args[@]}"

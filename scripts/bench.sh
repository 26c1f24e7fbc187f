#!/usr/bin/env bash
# Benchmarks (issue 7): builds release, then runs `shiftoverlay-bench mounts` (which re-runs itself
# in a private mount namespace: `unshare -m --propagation private`). Arguments go to the harness:
#   bash scripts/bench.sh --quick          # < 1 minute, 1 round, smaller tree (CI-sized)
#   bash scripts/bench.sh                  # full: 3 rounds, debootstrap root fs, < 10 minutes
#   bash scripts/bench.sh --systems shiftoverlay,kernel --workloads 'find,rm -rf lower'
#   bash scripts/bench.sh micro 10000      # in-process engine micro-benchmarks only
# Needs root (mounts, drop_caches). Timings are printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_deps libfuse3-dev libattr1-dev fuse3 attr gcc make tar findutils coreutils util-linux git fio \
    debootstrap fuse-overlayfs
need_swift

echo "== swift build -c release"
swift build -c release --static-swift-stdlib
bin="$(swift build -c release --show-bin-path)"
if [ "${1:-}" = micro ]; then
    exec "$bin/shiftoverlay-bench" "$@"
fi
# Measure the binary as `make install` installs it (stripped: a cold mount reads fewer pages).
extra=()
case " $* " in *" --binary "*) ;; *)
    strip -o "$bin/shiftoverlay.stripped" "$bin/shiftoverlay"
    extra=(--binary "$bin/shiftoverlay.stripped") ;;
esac
exec "${SUDO[@]}" "$bin/shiftoverlay-bench" mounts "${extra[@]}" "$@"

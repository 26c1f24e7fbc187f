#!/usr/bin/env bash
# chown -R over a ~12k-file lower subtree (copies of /usr/include and /usr/share/doc), side by
# side: shiftoverlay metacopy=off/on, kernel overlayfs metacopy=off/on, fuse-overlayfs. Prints
# the median wall time per system and the upper's disk usage (du -s) after the chown.
#   [SYSTEMS="so-on kernel-on"] [CACHE=cold|warm] bash scripts/bench-metacopy.sh [ROUNDS] [SHIFTOVERLAY_BINARY]
# CACHE=cold (default) drops the page/dentry caches before each chown; CACHE=warm instead reads the
# lower tree's metadata first (find -ls on the lower itself, never through the mount), so the
# timing is the overlay's own work.
# SCRATCH_DIR (default /tmp) holds the layers, e.g. SCRATCH_DIR=/dev/shm for a tmpfs upper.
# Needs root. Every mount is unmounted on exit; only daemons started here are stopped, by PID.
set -euo pipefail
rounds=${1:-3}
bin=${2:-$(cd "$(dirname "$0")/.." && swift build -c release --show-bin-path)/shiftoverlay}
[ -x "$bin" ] || { echo "no shiftoverlay binary at $bin (swift build -c release)" >&2; exit 1; }
scratch=$(mktemp -d "${SCRATCH_DIR:-/tmp}/bench-metacopy.XXXXXX")
mounted=()
pids=()
cleanup() {
    for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf --one-file-system "$scratch"
}
trap cleanup EXIT
lower=$scratch/lower
mkdir -p "$lower/img"
cp -a /usr/include "$lower/img/include"
cp -a /usr/share/doc "$lower/img/doc"
files=$(find "$lower/img" | wc -l)
echo "lower subtree: $files entries, $(du -sh "$lower/img" | cut -f1)"
read -r -a systems <<<"${SYSTEMS:-so-off so-on kernel-off kernel-on fuse-overlayfs}"
declare -A times sizes
for r in $(seq 1 "$rounds"); do
    for s in "${systems[@]}"; do
        d=$scratch/$s.$r
        mkdir -p "$d/upper" "$d/work" "$d/m"
        o="lowerdir=$lower,upperdir=$d/upper,workdir=$d/work"
        pid=
        case $s in
        so-off) "$bin" -f -o "$o,metacopy=off" "$d/m" 2>"$d/log" & pid=$! ;;
        so-on) "$bin" -f -o "$o,metacopy=on" "$d/m" 2>"$d/log" & pid=$! ;;
        fuse-overlayfs) fuse-overlayfs -f -o "$o" "$d/m" 2>"$d/log" & pid=$! ;;
        kernel-off) mount -t overlay overlay -o "$o,metacopy=off" "$d/m" ;;
        kernel-on) mount -t overlay overlay -o "$o,metacopy=on,redirect_dir=on" "$d/m" ;;
        esac
        mounted+=("$d/m")
        [ -n "$pid" ] && pids+=("$pid")
        for _ in $(seq 1 200); do mountpoint -q "$d/m" && break; sleep 0.05; done
        sync
        if [ "${CACHE:-cold}" = warm ]; then find "$lower" -ls >/dev/null; else echo 3 >/proc/sys/vm/drop_caches; fi
        t0=$(date +%s.%N)
        chown -R 1234:1234 "$d/m/img"
        t1=$(date +%s.%N)
        umount "$d/m"
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
        sync
        times[$s]+="$(echo "$t1 - $t0" | bc) "
        sizes[$s]=$(du -sk "$d/upper" | cut -f1)
        rm -rf --one-file-system "$d"
    done
done
printf '%-16s %12s %14s   %s\n' system "median s" "upper du KiB" "all runs (s)"
for s in "${systems[@]}"; do
    med=$(echo "${times[$s]}" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-16s %12.2f %14s   %s\n' "$s" "$med" "${sizes[$s]}" "${times[$s]}"
done
echo "lower subtree du KiB: $(du -sk "$lower/img" | cut -f1)"

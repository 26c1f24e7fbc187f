#!/usr/bin/env bash
# Runs the public unionmount-testsuite (github.com/amir73il/unionmount-testsuite) against
# shiftoverlay, one test per `./run` invocation, in a private mount namespace, and prints a
# per-test PASS/FAIL summary.
#
#   bash scripts/unionmount.sh [--kernel | --program=PATH] [SUITE] [TEST...]
#
# SUITE is a git repository (bare or not) or directory of the testsuite (a path); default
# $UNIONMOUNT_TESTSUITE, else the project's mirror if present. It is cloned into a temp dir; the
# layers are tmpfs mounts (named so that the suite's clean-up leaves them alone) under that temp dir (the suite's /lower, /upper,
# /mnt defaults are not used). --kernel runs kernel overlayfs instead, --program=PATH another
# fuse-overlayfs-compatible program (e.g. /usr/bin/fuse-overlayfs), for reference. The suite is
# run with --xdev (no redirect_dir: directory renames of lower dirs are expected to give EXDEV);
# UNIONMOUNT_FLAGS replaces that (e.g. "--samefs --xdev", or "" for the directory rename tests),
# UNIONMOUNT_OV replaces --ov (e.g. --ov=3: layers rotated into the lower stack, remounts).
# Per-test logs stay in the temp dir printed at the end. Exits 0 when every test passed, 1 when
# some failed, 2 when the suite cannot be found.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${1:-}" = "--in-namespace" ]; then
    # Internal: the per-test loop, run inside `unshare -m --propagation private`.
    shift
    WORK=$1 MODE=$2 PROGRAM=$3
    shift 3
    SUITE_DIR=$WORK/umts
    LOWER=$WORK/lower BASE=$WORK/base MNT=$WORK/mnt BIN=$WORK/bin
    mkdir -p "$LOWER" "$BASE" "$MNT" "$BIN" "$WORK/logs"
    RUNARGS=("${UNIONMOUNT_OV:---ov}")
    if [ "$MODE" = fuse ]; then
        # mount(8) runs `mount.fuse3 shiftoverlay MNT -o ...`, which finds the program by the type's
        # subtype on its own PATH: put it in a directory bind-mounted over /usr/local/sbin (only
        # in this namespace).
        name=$(basename "$PROGRAM")
        ln -sf "$PROGRAM" "$BIN/$name"
        mount --bind "$BIN" /usr/local/sbin
        RUNARGS+=("--fuse=$name")
    fi
    read -r -a FLAGS <<<"${UNIONMOUNT_FLAGS---xdev}"
    SAMEFS=
    case " ${FLAGS[*]} " in *" --samefs "*) SAMEFS=1 ;; esac
    RUNARGS+=("${FLAGS[@]}")
    mountpoint -q /sys/fs/fuse/connections || mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true

    is_mounted() { grep -q " $1 " /proc/self/mounts; }
    # unmount_all: unmount the union (aborting a hung FUSE connection first) and the layers.
    unmount_all() {
        local n=0 dev
        while is_mounted "$MNT" && [ $n -lt 10 ]; do
            if ! timeout 10 umount "$MNT" 2>/dev/null; then
                dev=$(awk -v m="$MNT" '$5 == m { print $3 }' /proc/self/mountinfo | tail -1)
                if [ -n "$dev" ] && [ -e "/sys/fs/fuse/connections/${dev#*:}/abort" ]; then
                    echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort"
                fi
                umount -l "$MNT" 2>/dev/null || true
            fi
            n=$((n + 1))
        done
        for d in "$BASE"/* "$BASE" "$LOWER"; do
            while is_mounted "$d"; do umount "$d" 2>/dev/null || umount -l "$d"; done
        done
    }
    trap unmount_all EXIT

    TESTS=("$@")
    if [ ${#TESTS[@]} -eq 0 ]; then
        # The list `run` would use for --ov --xdev (it stops at the first failure, so each test is
        # run on its own here).
        mapfile -t TESTS < <(sed -n '/^tests = \[/,/^    \]/p' "$SUITE_DIR/run" | grep -o '"[a-z0-9-]*"' | tr -d '"')
        case " ${FLAGS[*]} " in
        *" --xdev "*) TESTS+=(rename-exdev) ;;
        *) TESTS+=(rename-dir rename-empty-dir rename-pop-dir rename-move-dir) ;;
        esac
    fi
    pass=0 fail=0 failed=()
    for t in "${TESTS[@]}"; do
        unmount_all
        mount -t tmpfs umts-lower "$LOWER"
        mount -t tmpfs umts-base "$BASE"
        log=$WORK/logs/$t.log
        rc=0
        (cd "$SUITE_DIR" && export UNIONMOUNT_BASEDIR=$BASE UNIONMOUNT_MNTPOINT=$MNT &&
            if [ -z "$SAMEFS" ]; then export UNIONMOUNT_LOWERDIR=$LOWER; fi &&
            timeout 300 /usr/bin/python3 ./run "${RUNARGS[@]}" "$t") >"$log" 2>&1 || rc=$?
        if [ $rc -eq 0 ]; then
            pass=$((pass + 1))
            printf 'PASS %s\n' "$t"
        else
            fail=$((fail + 1))
            failed+=("$t")
            [ $rc -eq 124 ] && echo "(timed out after 300 s)" >>"$log"
            printf 'FAIL %s: %s\n' "$t" "$(grep -v '^\s*$' "$log" | tail -1)"
        fi
    done
    unmount_all
    echo "== logs: $WORK/logs"
    [ $fail -eq 0 ] || echo "== failed: ${failed[*]}"
    echo "unionmount: $pass passed, $fail failed"
    [ $fail -eq 0 ]
    exit
fi

. scripts/lib.sh

MODE=fuse PROGRAM=
case "${1:-}" in
--kernel) MODE=kernel; shift ;;
--program=*) PROGRAM=$(readlink -f "${1#--program=}"); shift ;;
esac

MIRROR=/work/.mirror/amir73il+unionmount-testsuite/repo
SRC=${UNIONMOUNT_TESTSUITE:-}
# The first argument is the suite when it is a directory (or looks like a path); else a test name.
if [ $# -gt 0 ] && { [ -d "$1" ] || [[ "$1" == */* ]]; }; then SRC=$1; shift; fi
if [ -z "$SRC" ] && [ -d "$MIRROR" ]; then SRC=$MIRROR; fi
if [ -z "$SRC" ] || [ ! -d "$SRC" ]; then
    echo "error: unionmount-testsuite not found${SRC:+ at $SRC}." >&2
    echo "Get it with: git clone https://github.com/amir73il/unionmount-testsuite" >&2
    echo "and pass its path as the first argument or in UNIONMOUNT_TESTSUITE." >&2
    exit 2
fi

ensure_deps fuse3 python3 git util-linux coreutils
WORK=$(mktemp -d /tmp/unionmount.XXXXXX)
chmod 755 "$WORK" # the impermissible test runs as the bin user, which must reach the mount point
echo "== cloning $SRC into $WORK/umts"
git clone -q "$SRC" "$WORK/umts"

if [ "$MODE" = fuse ] && [ -z "$PROGRAM" ]; then
    need_swift
    ensure_deps libfuse3-dev libattr1-dev
    echo "== swift build -c release"
    swift build -c release --static-swift-stdlib
    PROGRAM=$ROOT/.build/release/shiftoverlay
fi
echo "== running unionmount-testsuite against ${PROGRAM:-kernel overlayfs} (in a private mount namespace)"
exec "${SUDO[@]}" env "UNIONMOUNT_FLAGS=${UNIONMOUNT_FLAGS---xdev}" "UNIONMOUNT_OV=${UNIONMOUNT_OV:---ov}" unshare -m --propagation private bash "$ROOT/scripts/unionmount.sh" --in-namespace "$WORK" "$MODE" "${PROGRAM:--}" "$@"

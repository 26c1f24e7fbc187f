#!/usr/bin/env bash
# A two-minute tour: build shiftoverlay, mount a demo lower with an upper, copy-up a file, delete
# one, and show what lands in the upper directory. Exits non-zero if any step fails; always
# unmounts and removes its temporary directory.
#
#   By default the mount shifts ids (uidmapping=0:100000:65536,gidmapping=0:100000:65536): ids
#   stored as 0.. appear as 100000.. through the mount, and what a shifted uid writes is stored
#   unshifted. DEMO_MAP= bash scripts/demo.sh   mounts without id mapping.
#   SHIFTOVERLAY=/path/to/binary      use that binary instead of building (e.g. to compare with
#                                     /usr/bin/fuse-overlayfs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DEMO_MAP="${DEMO_MAP-1}"
MAP_OPTS=""
if [ -n "$DEMO_MAP" ]; then MAP_OPTS=",uidmapping=0:100000:65536,gidmapping=0:100000:65536"; fi

step() { printf '\n== %s\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

ensure_deps libfuse3-dev libattr1-dev fuse3 attr
if [ -n "${SHIFTOVERLAY:-}" ]; then
    BIN="$SHIFTOVERLAY"
else
    need_swift
    step "swift build -c release"
    swift build -c release --static-swift-stdlib
    BIN="$(swift build -c release --show-bin-path)/shiftoverlay"
fi
[ -x "$BIN" ] || fail "no binary at $BIN"

DEMO="$(mktemp -d "${TMPDIR:-/tmp}/shiftoverlay-demo.XXXXXX")"
chmod 755 "$DEMO"  # the shifted uids of the demo must reach the mount below it
LOWER="$DEMO/lower" UPPER="$DEMO/upper" WORK="$DEMO/work" MERGED="$DEMO/merged"

cleanup() {
    local rc=$?
    if grep -qF " $MERGED " /proc/self/mountinfo 2>/dev/null; then
        "${SUDO[@]}" fusermount3 -u "$MERGED" 2>/dev/null || "${SUDO[@]}" umount -l "$MERGED" || true
    fi
    # The daemon is ours if its command line names our (unique) mountpoint; end it by PID.
    local f pid
    for f in /proc/[0-9]*/cmdline; do
        pid="${f#/proc/}" pid="${pid%/cmdline}"
        if tr '\0' '\n' 2>/dev/null <"$f" | grep -qxF "$MERGED"; then "${SUDO[@]}" kill "$pid" 2>/dev/null || true; fi
    done
    "${SUDO[@]}" rm -rf --one-file-system "$DEMO"
    if [ $rc -ne 0 ]; then echo "demo: failed (exit $rc); everything was unmounted and removed" >&2; fi
    exit $rc
}
trap cleanup EXIT

step "building a demo lower layer in $LOWER"
"${SUDO[@]}" bash -euo pipefail -c '
    cd "$1"; mkdir -p lower/etc lower/home/alice lower/srv upper work merged
    printf "demo-host\n" > lower/etc/hostname
    printf "hello from the lower layer\n" > lower/home/alice/notes.txt
    printf "obsolete\n" > lower/srv/old.log
    chown -R 1000:1000 lower/home/alice
    chown 33:33 lower/srv lower/srv/old.log' _ "$DEMO"
"${SUDO[@]}" ls -lnR "$LOWER"

OPTS="lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK$MAP_OPTS"
step "mounting: $BIN -o $OPTS $MERGED"
"${SUDO[@]}" "$BIN" -o "$OPTS" "$MERGED" || fail "mount command failed"
grep -qF " $MERGED " /proc/self/mountinfo || fail "not mounted after the command returned"

step "merged view (ls -lnR $MERGED)"
"${SUDO[@]}" ls -lnR "$MERGED"
[ "$("${SUDO[@]}" cat "$MERGED/home/alice/notes.txt")" = "hello from the lower layer" ] || fail "merged content"
if [ -n "$DEMO_MAP" ]; then
    [ "$("${SUDO[@]}" stat -c %u "$MERGED/home/alice/notes.txt")" = 101000 ] || fail "uid 1000 should appear as 101000"
else
    [ "$("${SUDO[@]}" stat -c %u "$MERGED/home/alice/notes.txt")" = 1000 ] || fail "owner in the merged view"
fi

step "modifying a lower file through the mount (copy-up): home/alice/notes.txt"
"${SUDO[@]}" bash -c 'printf "edited in the overlay\n" >> "$1"' _ "$MERGED/home/alice/notes.txt"
"${SUDO[@]}" cat "$MERGED/home/alice/notes.txt"

if [ -n "$DEMO_MAP" ]; then
    step "creating a file as host uid 101000 (the workspace's uid 1000): home/alice/from-workspace"
    "${SUDO[@]}" setpriv --reuid=101000 --regid=101000 --clear-groups touch "$MERGED/home/alice/from-workspace"
    "${SUDO[@]}" stat -c '%n  through the mount %u:%g' "$MERGED/home/alice/from-workspace"
    "${SUDO[@]}" stat -c '%n  stored in the upper %u:%g' "$UPPER/home/alice/from-workspace"
    [ "$("${SUDO[@]}" stat -c %u:%g "$UPPER/home/alice/from-workspace")" = 1000:1000 ] || fail "101000 should be stored as 1000"
fi

step "deleting a lower file through the mount (whiteout): srv/old.log"
"${SUDO[@]}" rm "$MERGED/srv/old.log"
"${SUDO[@]}" test ! -e "$MERGED/srv/old.log" || fail "srv/old.log still visible"

step "upper directory (ls -lnR $UPPER): the copied-up file and the whiteout (char device 0, 0)"
"${SUDO[@]}" ls -lnR "$UPPER"
[ "$("${SUDO[@]}" tail -n1 "$UPPER/home/alice/notes.txt")" = "edited in the overlay" ] || fail "copy-up missing in upper"
[ "$("${SUDO[@]}" stat -c '%F %t %T' "$UPPER/srv/old.log")" = "character special file 0 0" ] || fail "no 0/0 whiteout"
[ "$("${SUDO[@]}" stat -c %u "$UPPER/home/alice/notes.txt")" = 1000 ] || fail "copy-up changed the stored owner"

step "lower directory is unchanged"
"${SUDO[@]}" ls -lnR "$LOWER"
[ "$("${SUDO[@]}" cat "$LOWER/home/alice/notes.txt")" = "hello from the lower layer" ] || fail "lower file modified"
"${SUDO[@]}" test -f "$LOWER/srv/old.log" || fail "lower file deleted"

step "unmounting (fusermount3 -u $MERGED)"
"${SUDO[@]}" fusermount3 -u "$MERGED"
! grep -qF " $MERGED " /proc/self/mountinfo || fail "still mounted"

SHIFT_SUMMARY="off (DEMO_MAP=)"
[ -z "$DEMO_MAP" ] || SHIFT_SUMMARY="stored 1000 shows as 101000 through the mount; a file created by host uid 101000 is stored as 1000"
cat <<SUMMARY

== demo OK
   mounted    $BIN -o lowerdir=…,upperdir=…,workdir=…${MAP_OPTS:+ (with id mapping)}
   id shift   $SHIFT_SUMMARY
   copy-up    home/alice/notes.txt edited: the upper holds the new copy (owner 1000 kept), the lower is untouched
   whiteout   srv/old.log deleted: the upper holds a 0/0 character device, the lower still has the file
   unmounted  with fusermount3 -u; temporary files in $DEMO are removed
SUMMARY

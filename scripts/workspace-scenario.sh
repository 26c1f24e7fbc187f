#!/usr/bin/env bash
# workspace-scenario.sh: the user-namespaced workspace, as users run it.
#
# Host root keeps a real Debian root filesystem (debootstrap --variant=minbase, cached under
# $ROOTFS_CACHE, default /var/cache/shiftoverlay-rootfs; never in the repository), mounts
# shiftoverlay over it with uidmapping=0:100000:65536,gidmapping=0:100000:65536, and enters a user
# namespace with the same map (scripts/in-userns.sh: ids 0..65535 inside are host 100000..165535).
# There, chrooted into the merged directory, it runs real commands: dpkg -i of a small .deb,
# useradd -m alice, chown -R alice: /home/alice, su alice -c 'id; touch /home/alice/x'. Then it
# prints, for a few files, the owner inside the namespace, on the host through the mount, and in
# the upper layer, and checks them: inside and upper show image ids, the host view is shifted by
# 100000.
#
# Needs root. Exit status: 0 all checks passed; 1 a check failed or something broke;
# 77 the root filesystem is not cached and there is no network to build it (said so on stderr).
# Environment: SHIFTOVERLAY_BIN (default .build/release/shiftoverlay, built if missing),
# ROOTFS_CACHE, KEEP=1 keeps the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOTFS_CACHE=${ROOTFS_CACHE:-/var/cache/shiftoverlay-rootfs}
ROOTFS=$ROOTFS_CACHE/bookworm
BASE=100000
COUNT=65536

[ "$(id -u)" -eq 0 ] || { echo "workspace-scenario: needs root" >&2; exit 1; }

# Everything below runs in a private mount namespace: no mount can leak into the host's.
if [ -z "${_WS_PRIVATE:-}" ]; then
    exec env _WS_PRIVATE=1 unshare -m --propagation private bash "$0" "$@"
fi

. scripts/lib.sh
ensure_deps debootstrap fuse3 util-linux coreutils dpkg

# --- the root filesystem (cached) -------------------------------------------------------------

if [ ! -x "$ROOTFS/usr/bin/dpkg" ]; then
    url=$(mirror_url)
    host=$(echo "$url" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')
    if ! ip route show default 2>/dev/null | grep -q . || ! getent hosts "$host" >/dev/null; then
        echo "workspace-scenario: NO NETWORK (no default route or $host does not resolve): cannot build the root filesystem with debootstrap; nothing was tested" >&2
        exit 77
    fi
    echo "== debootstrap --variant=minbase bookworm $ROOTFS $url (cached for later runs)"
    mkdir -p "$ROOTFS_CACHE"
    rm -rf "$ROOTFS.tmp"
    if ! timeout 600 debootstrap --variant=minbase bookworm "$ROOTFS.tmp" "$url" > "$ROOTFS_CACHE/debootstrap.log" 2>&1; then
        echo "workspace-scenario: FAILED: debootstrap from $url failed or timed out; see $ROOTFS_CACHE/debootstrap.log:" >&2
        tail -n 20 "$ROOTFS_CACHE/debootstrap.log" >&2
        rm -rf "$ROOTFS.tmp"
        exit 1
    fi
    mv "$ROOTFS.tmp" "$ROOTFS"
fi

BIN=${SHIFTOVERLAY_BIN:-$REPO/.build/release/shiftoverlay}
if [ ! -x "$BIN" ]; then
    need_swift
    swift build -c release --static-swift-stdlib
fi

# --- scratch, mount, cleanup ------------------------------------------------------------------
S=$(mktemp -d /tmp/shiftoverlay-ws.XXXXXX)
chmod 755 "$S"
mkdir "$S/upper" "$S/work" "$S/merged" "$S/deb"
MNT=$S/merged
daemon=
cleanup() {
    set +e
    if mountpoint -q "$MNT"; then fusermount3 -u "$MNT" || umount -l "$MNT"; fi
    if [ -n "$daemon" ]; then
        for _ in $(seq 50); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$daemon" 2>/dev/null; then echo "daemon $daemon still running; SIGTERM" >&2; kill "$daemon"; fi
        wait "$daemon" 2>/dev/null
    fi
    if [ "${KEEP:-}" = 1 ]; then echo "scratch kept: $S"; else rm -rf --one-file-system "$S"; fi
}
trap cleanup EXIT

# A small package, built on the host (no network): one file under /usr/share.
mkdir -p "$S/deb/hello/DEBIAN" "$S/deb/hello/usr/share/hello"
cat > "$S/deb/hello/DEBIAN/control" <<'EOF'
Package: ws-hello
Version: 1.0
Architecture: all
Maintainer: shiftoverlay tests <tests@example.invalid>
Description: tiny package for the workspace scenario
EOF
echo "hello from a package" > "$S/deb/hello/usr/share/hello/hello.txt"
dpkg-deb --root-owner-group --build "$S/deb/hello" "$S/deb/ws-hello.deb" >/dev/null

OPTS="lowerdir=$ROOTFS,upperdir=$S/upper,workdir=$S/work,uidmapping=0:$BASE:$COUNT,gidmapping=0:$BASE:$COUNT"
echo "== $BIN -f -o $OPTS $MNT"
"$BIN" -f -o "$OPTS" "$MNT" > "$S/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 200); do mountpoint -q "$MNT" && break; kill -0 "$daemon" 2>/dev/null || break; sleep 0.05; done
mountpoint -q "$MNT" || { echo "workspace-scenario: FAILED: shiftoverlay did not mount:" >&2; cat "$S/daemon.log" >&2; exit 1; }

# --- inside the user namespace ----------------------------------------------------------------
cat > "$S/inside.sh" <<'EOF'
set -euo pipefail
MNT=$1 DEB=$2
cp "$DEB" "$MNT/tmp/ws-hello.deb"
mount -t proc proc "$MNT/proc"
chroot "$MNT" /bin/bash -euo pipefail -c '
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
echo "-- inside: $(id)"
dpkg -i /tmp/ws-hello.deb
useradd -m -s /bin/bash alice
chown -R alice: /home/alice
su alice -c "id; touch /home/alice/x"
for f in /etc/passwd /home/alice /home/alice/x /usr/share/hello/hello.txt; do
    echo "INSIDE $f $(stat -c %u:%g "$f") $(stat -c %U:%G "$f")"
done
'
EOF
echo "== in a user namespace (0..$((COUNT - 1)) = host $BASE..$((BASE + COUNT - 1))), chroot $MNT"
bash scripts/in-userns.sh "$BASE" "$COUNT" bash "$S/inside.sh" "$MNT" "$S/deb/ws-hello.deb" | tee "$S/inside.out"

# --- the table --------------------------------------------------------------------------------
alice=$(grep '^alice:' "$S/upper/etc/passwd" | cut -d: -f3,4)
echo
echo "== ownership (uid:gid) of the same files, three ways"
printf '%-28s %-26s %-22s %-22s\n' path "inside the namespace" "host, through mount" "upper layer (stored)"
fail=0
for f in /etc/passwd /home/alice /home/alice/x /usr/share/hello/hello.txt; do
    in=$(awk -v f="$f" '$1 == "INSIDE" && $2 == f {print $3}' "$S/inside.out")
    names=$(awk -v f="$f" '$1 == "INSIDE" && $2 == f {print $4}' "$S/inside.out")
    host=$(stat -c %u:%g "$MNT$f")
    up=$(stat -c %u:%g "$S/upper$f")
    printf '%-28s %-26s %-22s %-22s\n' "$f" "$in ($names)" "$host" "$up"
    case $f in /home/alice*) want=$alice ;; *) want=0:0 ;; esac
    wu=${want%:*} wg=${want#*:}
    [ "$in" = "$want" ] || { echo "   MISMATCH: inside $in, want $want" >&2; fail=1; }
    [ "$up" = "$want" ] || { echo "   MISMATCH: upper $up, want $want" >&2; fail=1; }
    [ "$host" = "$((wu + BASE)):$((wg + BASE))" ] || { echo "   MISMATCH: host $host, want $((wu + BASE)):$((wg + BASE))" >&2; fail=1; }
done
echo "(alice is $alice inside the image; the host sees every image id shifted by $BASE)"
if [ "$fail" -ne 0 ]; then echo "workspace-scenario: FAILED" >&2; exit 1; fi
echo "workspace-scenario: OK"

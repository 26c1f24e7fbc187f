#!/usr/bin/env bash
# podman-e2e.sh: real podman containers on shiftoverlay as the overlay driver's mount_program,
# rootful and rootless (issue 9).
#
#   bash scripts/podman-e2e.sh [rootful] [uidmap] [rm] [rootless]    (default: all four)
#   bash scripts/podman-e2e.sh --quick [FLOW...]   CI-sized: plain minbase image (shared with
#        workspace-scenario.sh), C program compiled statically on the host, rootful uidmap rm,
#        no podman build
#
# Needs root and the network to the apt mirror on the first run (podman, runc, uidmap, dpkg-dev
# are installed with apt-get when missing; the image's root filesystem is built once with
# debootstrap and cached). No registry is used: the image is
# `debootstrap --variant=minbase --include=gcc,libc6-dev bookworm` (cached in
# $ROOTFS_CACHE/bookworm-gcc, default /var/cache/shiftoverlay-rootfs) imported with
# `tar -C ROOTFS -c . | podman import - localhost/base`. gcc is in the image so the C program is
# compiled and run inside the container, as the container's new user.
#
# Every podman call uses a private --root/--runroot/--tmpdir under a scratch directory and
# `--storage-driver overlay --storage-opt overlay.mount_program=WRAPPER`, where WRAPPER logs its
# argv and execs shiftoverlay; the script checks afterwards that the wrapper was called with the
# argv forms of ../shared/CLIENTS.md (plain, volatile, uidmapping/gidmapping, read-only commit).
#
# Flows:
#   rootful  run a container that installs a package from a local file repository
#            (dpkg-scanpackages, deb [trusted=yes] file:/repo ./), adds a user, chowns/chmods lower
#            files, deletes lower files and trees, renames a lower directory (mv), makes a hard
#            link, a symlink, a fifo, a setuid file, compiles and runs a C program as the new user;
#            `podman commit`; run the committed image and check every change survived.
#   uidmap   --uidmap 0:100000:65536 --gidmap 0:100000:65536 on the committed image
#            (<runroot>/overlay/idmapped-lower-dir-false is pre-created so only shiftoverlay
#            shifts); ownership inside, on the host through the mount, and in the upper.
#   rm       podman run --rm (passes `volatile`); podman build with two RUN steps, then a run of
#            the built image.
#   rootless the rootful flow (workload, commit, check) as user $PODTEST_USER (created if
#            missing, with /etc/subuid and /etc/subgid ranges $SUB_BASE:65536; both files are
#            restored and a user we created is removed at the end) with its own storage;
#            /dev/fuse is 0666 only inside this script's private mount namespace (a 0666 node
#            bind-mounted over it). Ownership inside (image ids), through the mount seen from the
#            host (subordinate ids) and in the upper (subordinate ids).
#
# Everything runs in a private mount namespace. Environment: SHIFTOVERLAY_BIN (default
# .build/release/shiftoverlay, built if missing), ROOTFS_CACHE, PODTEST_USER (podtest),
# SUB_BASE (200000), KEEP=1 keeps the scratch directory.
# Exit status: 0 all checks passed; 1 a check failed; 77 no network to build the missing rootfs.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOTFS_CACHE=${ROOTFS_CACHE:-/var/cache/shiftoverlay-rootfs}
PODTEST_USER=${PODTEST_USER:-podtest}
SUB_BASE=${SUB_BASE:-200000}

[ "$(id -u)" -eq 0 ] || { echo "podman-e2e: needs root" >&2; exit 1; }
if [ -z "${_PE_PRIVATE:-}" ]; then
    exec env _PE_PRIVATE=1 unshare -m --propagation private bash "$0" "$@"
fi

QUICK=0
if [ "${1:-}" = --quick ]; then QUICK=1; shift; fi
FLOWS=("$@")
if [ "$QUICK" = 1 ]; then
    # The CI-sized subset: the plain minbase root filesystem workspace-scenario.sh and the
    # integration tests cache (no gcc in the image: the C program is compiled statically on the
    # host and run in the container as the new user), rootful flows only, no podman build.
    ROOTFS=$ROOTFS_CACHE/bookworm INCLUDE= MARKER=usr/bin/dpkg LOGNAME_=debootstrap.log
    [ ${#FLOWS[@]} -gt 0 ] || FLOWS=(rootful uidmap rm)
else
    ROOTFS=$ROOTFS_CACHE/bookworm-gcc INCLUDE=--include=gcc,libc6-dev MARKER=usr/bin/gcc LOGNAME_=debootstrap-gcc.log
    [ ${#FLOWS[@]} -gt 0 ] || FLOWS=(rootful uidmap rm rootless)
fi
want() { local f; for f in "${FLOWS[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }
for f in "${FLOWS[@]}"; do
    case $f in rootful|uidmap|rm|rootless) ;; *) echo "podman-e2e: unknown flow $f" >&2; exit 2 ;; esac
done
# uidmap and rm use the image the rootful flow commits.
if { want uidmap || want rm; } && ! want rootful; then FLOWS+=(rootful); fi

. scripts/lib.sh
ensure_deps podman runc uidmap dpkg-dev debootstrap fuse3 util-linux coreutils passwd gcc libc6-dev

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
TIMES=()
FAIL=0
fail() { echo "   FAILED: $*" >&2; FAIL=1; }

# --- the image's root filesystem (cached) -----------------------------------------------------
if [ ! -x "$ROOTFS/$MARKER" ]; then
    url=$(mirror_url)
    host=$(echo "$url" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')
    if ! ip route show default 2>/dev/null | grep -q . || ! getent hosts "$host" >/dev/null; then
        echo "podman-e2e: NO NETWORK (no default route or $host does not resolve): cannot build the image's root filesystem; nothing was tested" >&2
        exit 77
    fi
    echo "== debootstrap --variant=minbase $INCLUDE bookworm $ROOTFS $url (cached for later runs)"
    mkdir -p "$ROOTFS_CACHE"
    rm -rf "$ROOTFS.tmp"
    # shellcheck disable=SC2086 # INCLUDE is empty or one word
    if ! timeout 900 debootstrap --variant=minbase $INCLUDE bookworm "$ROOTFS.tmp" "$url" > "$ROOTFS_CACHE/$LOGNAME_" 2>&1; then
        echo "podman-e2e: FAILED: debootstrap failed or timed out; see $ROOTFS_CACHE/$LOGNAME_:" >&2
        tail -n 20 "$ROOTFS_CACHE/$LOGNAME_" >&2
        rm -rf "$ROOTFS.tmp"
        exit 1
    fi
    mv "$ROOTFS.tmp" "$ROOTFS"
fi

SRC_BIN=${SHIFTOVERLAY_BIN:-$REPO/.build/release/shiftoverlay}
if [ ! -x "$SRC_BIN" ]; then
    need_swift
    swift build -c release
fi

# --- scratch, cleanup -------------------------------------------------------------------------
S=$(mktemp -d /tmp/shiftoverlay-podman.XXXXXX)
chmod 755 "$S"
mkdir -p "$S/bin" "$S/e2e/repo" "$S/deb"
# A copy of the binary the rootless user can reach whatever the repository's permissions.
install -m 755 "$SRC_BIN" "$S/bin/shiftoverlay"

created_user=0
# podman creates these host paths on first use even with a private --root (network lock files);
# remove them afterwards if they were not there before.
HOST_PATHS=()
for p in /etc/containers/networks /run/containers; do [ -e "$p" ] || HOST_PATHS+=("$p"); done
subs_saved=0
RL_PAUSE=
DONE=0
rootful_podman_used=0
rootless_podman_used=0
cleanup() {
    set +e
    trap - EXIT
    echo "== cleanup"
    if [ "$rootful_podman_used" = 1 ]; then
        "${PR[@]}" rm -af -t 0 >/dev/null 2>&1
        "${PR[@]}" unshare true >/dev/null 2>&1
    fi
    if [ "$rootless_podman_used" = 1 ]; then
        "${PL[@]}" rm -af -t 0 >/dev/null 2>&1
        # podman's rootless pause process keeps the user namespace: end it (its pid is in the
        # pause.pid file podman wrote under our XDG_RUNTIME_DIR).
        RL_PAUSE=$(cat "$S/rootless/xdg/libpod/tmp/pause.pid" 2>/dev/null)
        if [ -n "$RL_PAUSE" ] && kill -0 "$RL_PAUSE" 2>/dev/null; then kill "$RL_PAUSE"; fi
    fi
    # Every shiftoverlay daemon started for our storage must be gone.
    for _ in $(seq 50); do
        left=$(ps -eo pid=,args= | grep -F "$S/" | grep -F shiftoverlay | grep -v grep)
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || { echo "podman-e2e: daemons still running:" >&2; echo "$left" >&2; FAIL=1; }
    # FUSE mounts left are a failure; the overlay driver's private bind mount of its home
    # (<root>/overlay on itself) is podman's own and is just unmounted.
    if grep -F "$S/" /proc/self/mounts | grep -q ' fuse'; then
        echo "podman-e2e: FUSE mounts left in our namespace:" >&2; grep -F "$S/" /proc/self/mounts | grep ' fuse' >&2
        FAIL=1
    fi
    grep -F "$S/" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
    if [ "$subs_saved" = 1 ]; then
        cp -p "$S/subuid.orig" /etc/subuid; cp -p "$S/subgid.orig" /etc/subgid
        echo "restored /etc/subuid and /etc/subgid"
    fi
    for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] && rm -rf "$p"; done
    if [ "$created_user" = 1 ]; then
        userdel -r "$PODTEST_USER" >/dev/null 2>&1 || userdel "$PODTEST_USER"
        echo "removed user $PODTEST_USER"
    fi
    if [ "${KEEP:-}" = 1 ]; then echo "scratch kept: $S"; else rm -rf --one-file-system "$S" 2>/dev/null || rm -rf "$S"; fi
    echo "total $(elapsed "$T0") s"
    if [ "$DONE" != 1 ]; then echo "podman-e2e: stopped early (a command failed; see above)" >&2; FAIL=1; fi
    if [ "$FAIL" -ne 0 ]; then echo "podman-e2e: FAILED" >&2; exit 1; fi
    echo "podman-e2e: OK"
}
trap cleanup EXIT

NOFILE=$(ulimit -Hn)
RUNOPTS=(--runtime runc --ulimit "nofile=$NOFILE:$NOFILE" --ulimit nproc=4096:4096 --network none)

# make_wrapper DIR: DIR/wrapper logs "uid userns argv" to DIR/argv.log and execs shiftoverlay.
make_wrapper() {
    cat > "$1/wrapper" <<EOF
#!/bin/sh
printf '%s %s %s\n' "\$(id -u)" "\$(readlink /proc/self/ns/user)" "\$*" >> $1/argv.log
exec $S/bin/shiftoverlay "\$@"
EOF
    chmod 755 "$1/wrapper"
    : > "$1/argv.log"
}

# --- the local package repository and the in-container scripts --------------------------------
mkdir -p "$S/deb/e2e-hello/DEBIAN" "$S/deb/e2e-hello/usr/share/e2e-hello"
cat > "$S/deb/e2e-hello/DEBIAN/control" <<'EOF'
Package: e2e-hello
Version: 1.0
Architecture: all
Maintainer: shiftoverlay tests <tests@example.invalid>
Description: tiny package for the podman end-to-end test
EOF
echo "hello from a package" > "$S/deb/e2e-hello/usr/share/e2e-hello/hello.txt"
dpkg-deb --root-owner-group --build "$S/deb/e2e-hello" "$S/e2e/repo/e2e-hello_1.0_all.deb" >/dev/null
(cd "$S/e2e/repo" && dpkg-scanpackages . /dev/null 2>/dev/null > Packages)

cat > "$S/e2e/hello.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("hello from C, uid=%d euid=%d\n", (int)getuid(), (int)geteuid()); return 0; }
EOF

# The workload: every change is to something the image (the lower layer) has.
cat > "$S/e2e/work.sh" <<'EOF'
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
echo "-- in the container: $(id)"
echo 'deb [trusted=yes] file:/e2e/repo ./' > /etc/apt/sources.list
rm -f /etc/apt/sources.list.d/*
apt-get -q update >/dev/null
apt-get -q install -y e2e-hello >/dev/null
useradd -m -s /bin/bash tester
chown tester:tester /etc/issue.net
chmod 0600 /etc/issue
chmod 0751 /usr/share/base-files
rm /etc/motd /usr/share/common-licenses/GPL-3
rm -rf /usr/share/zoneinfo /usr/share/doc/apt
mv /usr/share/base-passwd /usr/share/base-passwd-moved
ln /etc/debian_version /root/debian_version.hardlink
echo new > /root/new-file
ln /root/new-file /root/new-file.hardlink
ln -s /usr/share/e2e-hello/hello.txt /root/hello.symlink
mkfifo /root/fifo
cp /bin/true /usr/local/bin/suid-true
chmod 4755 /usr/local/bin/suid-true
if [ -x /e2e/hello-static ]; then
    # --quick: no gcc in the image; the program was compiled statically on the host.
    install -o tester -g tester -m 0755 /e2e/hello-static /home/tester/hello
    su tester -c '~/hello' | tee /root/hello.out
else
    install -o tester -g tester -m 0644 /e2e/hello.c /home/tester/hello.c
    su tester -c 'cd ~ && gcc -O1 -o hello hello.c && ./hello' | tee /root/hello.out
fi
grep -q "uid=1000 euid=1000" /root/hello.out
echo "-- workload done; checks in this container:"
CHECK_MODE=live bash /e2e/check.sh
EOF

# The checks, run in the container and again in a container of the committed image.
cat > "$S/e2e/check.sh" <<'EOF'
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
bad=0
ok() { if eval "$2"; then echo "   ok   $1"; else echo "   FAIL $1"; bad=1; fi; }
ok "package installed"            '[ "$(dpkg-query -W -f="\${Status}" e2e-hello 2>/dev/null)" = "install ok installed" ] && grep -q "hello from a package" /usr/share/e2e-hello/hello.txt'
ok "user tester (1000:1000)"      '[ "$(id -u tester):$(id -g tester)" = 1000:1000 ] && [ "$(stat -c %u:%g /home/tester)" = 1000:1000 ]'
ok "chown of a lower file"        '[ "$(stat -c %U:%G /etc/issue.net)" = tester:tester ]'
ok "chmod of a lower file"        '[ "$(stat -c %a /etc/issue)" = 600 ]'
ok "chmod of a lower dir"         '[ "$(stat -c %a /usr/share/base-files)" = 751 ]'
ok "deleted lower files stay deleted" '[ ! -e /etc/motd ] && [ ! -e /usr/share/common-licenses/GPL-3 ] && [ -e /usr/share/common-licenses/GPL-2 ]'
ok "deleted lower trees stay deleted" '[ ! -e /usr/share/zoneinfo ] && [ ! -e /usr/share/doc/apt ] && [ -d /usr/share/doc/dpkg ]'
ok "renamed lower dir"            '[ ! -e /usr/share/base-passwd ] && [ -f /usr/share/base-passwd-moved/passwd.master ]'
ok "hard link of new files"       '[ "$(stat -c %i /root/new-file)" = "$(stat -c %i /root/new-file.hardlink)" ] && [ "$(stat -c %h /root/new-file)" = 2 ]'
# podman's commit (the naive diff containers-storage uses with any mount_program) compares mode,
# owner, size and mtime but not the link count: a new link to an unchanged lower file is exported
# as a separate copy (fuse-overlayfs gives the same image). Live, it is one inode.
if [ "${CHECK_MODE:-}" = live ]; then
ok "hard link to a lower file"    '[ "$(stat -c %i /etc/debian_version)" = "$(stat -c %i /root/debian_version.hardlink)" ] && [ "$(stat -c %h /etc/debian_version)" = 2 ]'
else
ok "hard link to a lower file (exported as a copy)" 'cmp -s /etc/debian_version /root/debian_version.hardlink'
fi
ok "symlink"                      '[ "$(readlink /root/hello.symlink)" = /usr/share/e2e-hello/hello.txt ] && grep -q hello /root/hello.symlink'
ok "fifo"                         '[ -p /root/fifo ]'
ok "setuid file"                  '[ "$(stat -c %a:%U /usr/local/bin/suid-true)" = 4755:root ] && /usr/local/bin/suid-true'
ok "C program runs as tester"     '[ "$(stat -c %U /home/tester/hello)" = tester ] && su tester -c /home/tester/hello | grep -q "uid=1000 euid=1000"'
[ "$bad" = 0 ] && echo "-- all checks passed" || { echo "-- some checks FAILED"; exit 1; }
EOF
[ "$QUICK" = 0 ] || gcc -static -O1 -o "$S/e2e/hello-static" "$S/e2e/hello.c"
chmod -R a+rX "$S/e2e"

# --- helpers ----------------------------------------------------------------------------------
# timed LABEL CMD...: run, record the time.
timed() {
    local label=$1 t rc
    shift
    t=$(date +%s.%N)
    set +e
    "$@"
    rc=$?
    set -e
    TIMES+=("$(printf '%-44s %6s s  %s' "$label" "$(elapsed "$t")" "$([ $rc = 0 ] && echo ok || echo "FAILED rc=$rc")")")
    [ $rc = 0 ] || fail "$label (exit $rc)"
    return $rc
}

# table PODMAN-ARRAY-NAME CTR HOSTVIEW-PREFIX FILES...: owner uid:gid inside (podman exec),
# on the host through the mount (HOSTVIEW-PREFIX is a command prefix, e.g. nsenter), in the upper.
TABLE_OUT=
HV_LABEL="host, through mount"
table() {
    local -n pm=$1
    local ctr=$2 hv=$3 f in host up merged upper
    shift 3
    merged=$("${pm[@]}" inspect -f '{{.GraphDriver.Data.MergedDir}}' "$ctr")
    upper=$("${pm[@]}" inspect -f '{{.GraphDriver.Data.UpperDir}}' "$ctr")
    TABLE_OUT=$(
        printf '%-30s %-28s %-26s %-22s\n' path "inside the container" "$HV_LABEL" "upper layer (stored)"
        for f in "$@"; do
            in=$("${pm[@]}" exec "$ctr" stat -c '%u:%g (%U:%G)' "$f")
            host=$($hv stat -c %u:%g "$merged$f")
            if [ -e "$upper$f" ] || [ -L "$upper$f" ]; then up=$(stat -c %u:%g "$upper$f"); else up="(lower only)"; fi
            printf '%-30s %-28s %-26s %-22s\n' "$f" "$in" "$host" "$up"
        done
    )
    echo "$TABLE_OUT"
}
# col TABLE PATH N: column N (1 inside, 2 host, 3 upper) of PATH's row.
col() { echo "$1" | awk -v p="$2" -v n="$3" '$1 == p { if (n == 1) print $2; else if (n == 2) print $4; else print $5 }'; }
expect() { # expect TABLE PATH INSIDE HOST UPPER
    local t=$1 p=$2 i h u
    i=$(col "$t" "$p" 1) h=$(col "$t" "$p" 2) u=$(col "$t" "$p" 3)
    [ "$i" = "$3" ] || fail "$p inside is $i, want $3"
    [ "$h" = "$4" ] || fail "$p host view is $h, want $4"
    [ "$u" = "$5" ] || fail "$p upper is $u, want $5"
}

# rmctr PODMAN-ARRAY-NAME CTR: stop, then remove. (`rm -f -t 0` on a running container races with
# conmon's own `podman container cleanup` and sometimes fails with EBUSY on userdata/shm.)
rmctr() {
    local -n pm=$1
    local i
    "${pm[@]}" stop -t 0 "$2" >/dev/null 2>&1 || true
    for i in 1 2 3 4 5; do
        "${pm[@]}" rm -f "$2" >/dev/null 2>&1 && return 0
        sleep 1
    done
    fail "podman rm $2"
}

# flow_basic PODMAN-ARRAY-NAME LABEL: import, workload, commit, check in the committed image.
flow_basic() {
    local -n pm=$1
    local label=$2
    echo "== [$label] import $ROOTFS as localhost/base"
    timed "$label: podman import" bash -c "tar -C '$ROOTFS' --numeric-owner -c . | $(printf '%q ' "${pm[@]}") import - localhost/base >/dev/null" || return 1
    echo "== [$label] podman run: workload"
    timed "$label: podman run (workload)" "${pm[@]}" run --name work "${RUNOPTS[@]}" -v "$S/e2e:/e2e:ro" localhost/base bash /e2e/work.sh || return 1
    echo "== [$label] podman commit"
    timed "$label: podman commit" "${pm[@]}" commit -q work localhost/committed >/dev/null || return 1
    echo "== [$label] podman run of the committed image: checks"
    timed "$label: podman run (committed, checks)" "${pm[@]}" run --name check "${RUNOPTS[@]}" -v "$S/e2e:/e2e:ro" localhost/committed bash /e2e/check.sh || return 1
}

# --- rootful ----------------------------------------------------------------------------------
RF=$S/rootful
mkdir -p "$RF"
make_wrapper "$RF"
# containers-storage 1.43 caches whether the kernel can idmap the lower layers in
# <runroot>/overlay/idmapped-lower-dir-{true,false} (the -true file is read first, and written by
# the first podman call that finds the kernel able). With idmapped lowers, a --uidmap container's
# lowers are shifted by the kernel *and* by the mount program (ids 0 -> 100000 -> 65534). Recording
# "false" before podman first runs leaves the shifting to the mount program alone.
mkdir -p -m 700 "$RF/run/overlay"
touch "$RF/run/overlay/idmapped-lower-dir-false"
PR=(podman --root "$RF/root" --runroot "$RF/run" --tmpdir "$RF/tmp" --cgroup-manager cgroupfs
    --events-backend file --storage-driver overlay --storage-opt "overlay.mount_program=$RF/wrapper")
if want rootful; then
    rootful_podman_used=1
    flow_basic PR rootful || true
    if [ "$FAIL" = 0 ]; then
        timed "rootful: podman run -d" "${PR[@]}" run -d --name plain "${RUNOPTS[@]}" localhost/committed sleep 600 >/dev/null
        "${PR[@]}" exec plain sh -c 'echo root > /root/made-by-root && su tester -c "echo t > /home/tester/made-by-tester"'
        echo
        echo "ownership (uid:gid), rootful, no id map:"
        table PR plain "" /etc/passwd /etc/issue.net /home/tester /home/tester/made-by-tester /root/made-by-root
        ROOTFUL_TABLE=$TABLE_OUT
        expect "$ROOTFUL_TABLE" /etc/passwd 0:0 0:0 "(lower"
        expect "$ROOTFUL_TABLE" /etc/issue.net 1000:1000 1000:1000 "(lower"
        expect "$ROOTFUL_TABLE" /home/tester/made-by-tester 1000:1000 1000:1000 1000:1000
        expect "$ROOTFUL_TABLE" /root/made-by-root 0:0 0:0 0:0
        rmctr PR plain
    fi
fi

if want uidmap && [ "$FAIL" = 0 ]; then
    echo "== [uidmap] --uidmap 0:100000:65536 --gidmap 0:100000:65536 on the committed image"
    timed "uidmap: podman run -d" "${PR[@]}" run -d --name mapped "${RUNOPTS[@]}" --uidmap 0:100000:65536 --gidmap 0:100000:65536 \
        localhost/committed sleep 600 >/dev/null
    timed "uidmap: podman exec (writes)" "${PR[@]}" exec mapped sh -c 'echo root > /root/made-by-root && su tester -c "echo t > /home/tester/made-by-tester" && chown tester: /etc/issue'
    echo
    echo "ownership (uid:gid), --uidmap 0:100000:65536 --gidmap 0:100000:65536, rootful:"
    table PR mapped "" /etc/passwd /etc/issue /etc/issue.net /home/tester /home/tester/hello /home/tester/made-by-tester /root/made-by-root
    UIDMAP_TABLE=$TABLE_OUT
    expect "$UIDMAP_TABLE" /etc/passwd 0:0 100000:100000 "(lower"
    expect "$UIDMAP_TABLE" /etc/issue 1000:1000 101000:101000 1000:1000
    expect "$UIDMAP_TABLE" /etc/issue.net 1000:1000 101000:101000 "(lower"
    expect "$UIDMAP_TABLE" /home/tester 1000:1000 101000:101000 1000:1000
    expect "$UIDMAP_TABLE" /home/tester/hello 1000:1000 101000:101000 "(lower"
    expect "$UIDMAP_TABLE" /home/tester/made-by-tester 1000:1000 101000:101000 1000:1000
    expect "$UIDMAP_TABLE" /root/made-by-root 0:0 100000:100000 0:0
    rmctr PR mapped
fi

if want rm && [ "$FAIL" = 0 ]; then
    echo "== [rm] podman run --rm"
    timed "rm: podman run --rm (checks)" "${PR[@]}" run --rm "${RUNOPTS[@]}" -v "$S/e2e:/e2e:ro" localhost/committed bash /e2e/check.sh
    n=$("${PR[@]}" ps -aq | wc -l)
    [ "$n" = 2 ] || fail "after --rm: $n containers, want 2 (work, check)"
fi
if want rm && [ "$FAIL" = 0 ] && [ "$QUICK" = 0 ]; then
    # podman build (buildah's RUN steps mount with `volatile` too) on the committed image.
    mkdir -p "$S/ctx"
    cat > "$S/ctx/Containerfile" <<'EOF2'
FROM localhost/committed
RUN useradd -m bob && echo hi > /home/bob/hi && chown bob: /home/bob/hi && rm -rf /usr/share/doc && chmod 4755 /usr/bin/env
RUN test "$(stat -c %U /home/bob/hi)" = bob && test ! -e /usr/share/doc && mv /etc/apt /etc/apt2 && ln -s apt2 /etc/apt && mkfifo /ff
EOF2
    timed "rm: podman build (2 RUN steps)" "${PR[@]}" build -q "${RUNOPTS[@]}" -t localhost/built "$S/ctx" >/dev/null
    timed "rm: podman run --rm (built image)" "${PR[@]}" run --rm "${RUNOPTS[@]}" localhost/built sh -c \
        'test "$(stat -c %U:%a /home/bob/hi /usr/bin/env | tr "\n" " ")" = "bob:644 root:4755 " && test ! -e /usr/share/doc && test -p /ff && test "$(readlink /etc/apt)" = apt2 && test -d /etc/apt/ && test -f /usr/share/e2e-hello/hello.txt' || true
fi

# --- rootless ---------------------------------------------------------------------------------
if want rootless; then
    echo "== [rootless] user $PODTEST_USER"
    if ! id "$PODTEST_USER" >/dev/null 2>&1; then
        useradd -m -s /bin/bash "$PODTEST_USER"
        created_user=1
    fi
    cp -p /etc/subuid "$S/subuid.orig"; cp -p /etc/subgid "$S/subgid.orig"
    subs_saved=1
    sed -i "/^$PODTEST_USER:/d" /etc/subuid /etc/subgid
    echo "$PODTEST_USER:$SUB_BASE:65536" >> /etc/subuid
    echo "$PODTEST_USER:$SUB_BASE:65536" >> /etc/subgid
    PT_UID=$(id -u "$PODTEST_USER")
    PT_GID=$(id -g "$PODTEST_USER")
    # /dev/fuse 0666 in this private mount namespace only.
    mknod -m 0666 "$S/fuse" c 10 229
    mount --bind "$S/fuse" /dev/fuse
    RL=$S/rootless
    mkdir -p "$RL/xdg"
    chmod 700 "$RL/xdg"
    make_wrapper "$RL"
    chown -R "$PODTEST_USER:" "$RL"
    PL=(runuser -u "$PODTEST_USER" -- env "HOME=$(getent passwd "$PODTEST_USER" | cut -d: -f6)" "XDG_RUNTIME_DIR=$RL/xdg"
        podman --root "$RL/root" --runroot "$RL/run" --cgroup-manager cgroupfs --events-backend file
        --storage-driver overlay --storage-opt "overlay.mount_program=$RL/wrapper")
    rootless_podman_used=1
    if flow_basic PL rootless; then
        timed "rootless: podman run -d" "${PL[@]}" run -d --name rl "${RUNOPTS[@]}" localhost/committed sleep 600 >/dev/null
        "${PL[@]}" exec rl sh -c 'echo root > /root/made-by-root && su tester -c "echo t > /home/tester/made-by-tester"'
        pause=$(cat "$RL/xdg/libpod/tmp/pause.pid")
        echo
        echo "ownership (uid:gid), rootless as $PODTEST_USER (uid $PT_UID, subordinate ids $SUB_BASE..$((SUB_BASE + 65535))):"
        # The kernel lets no process outside podman's user namespace use a FUSE mount made in it
        # (fuse_allow_current_process: with allow_other, only that namespace and its
        # descendants; without, only the mounting uid in that namespace), so host root gets
        # EACCES through the mount. The "through mount" column is stat run in podman's user and
        # mount namespaces (nsenter into its pause process); the upper column is the host's view.
        echo "(through mount: stat in podman's user+mount namespaces, nsenter -t <pause pid $pause> -U -m; host root itself gets EACCES there)"
        HV_LABEL="podman userns, thr. mount"
        table PL rl "nsenter -t $pause -U -m" /etc/passwd /etc/issue.net /home/tester /home/tester/hello /home/tester/made-by-tester /root/made-by-root
        RL_TABLE=$TABLE_OUT
        s1000=$((SUB_BASE + 999))
        expect "$RL_TABLE" /etc/passwd 0:0 0:0 "(lower"
        expect "$RL_TABLE" /etc/issue.net 1000:1000 1000:1000 "(lower"
        expect "$RL_TABLE" /home/tester 1000:1000 1000:1000 "$s1000:$s1000"
        expect "$RL_TABLE" /home/tester/made-by-tester 1000:1000 1000:1000 "$s1000:$s1000"
        expect "$RL_TABLE" /root/made-by-root 0:0 0:0 "$PT_UID:$PT_GID"
        # The image layer as stored by rootless podman: subordinate ids too.
        lay=$(stat -c %u:%g "$(find "$RL/root/overlay" -path '*/diff/etc/issue.net' | head -n1)")
        echo "image layer on the host: /etc/issue.net of the committed layer is stored as $lay (subordinate ids)"
        [ "$lay" = "$s1000:$s1000" ] || fail "committed layer stores /etc/issue.net as $lay, want $s1000:$s1000"
        rmctr PL rl
        # --userns=keep-id: the mount program gets a three-range uidmapping.
        timed "rootless: podman run --rm --userns=keep-id" "${PL[@]}" run --rm --userns=keep-id "${RUNOPTS[@]}" localhost/committed \
            sh -c 'echo "$(id -u):$(id -g) $(stat -c %u:%g /etc/passwd) $(stat -c %u:%g /home/tester/hello)"' > "$S/keepid.out" || true
        out=$(cat "$S/keepid.out")
        echo "keep-id container: id, /etc/passwd, /home/tester/hello: $out"
        [ "$out" = "$PT_UID:$PT_GID 0:0 1000:1000" ] || fail "keep-id: got '$out', want '$PT_UID:$PT_GID 0:0 1000:1000'"
    fi
fi

# --- the argv podman passed -------------------------------------------------------------------
echo
echo "== argv forms the wrapper logged (uid, user namespace, argv; paths shortened)"
for d in "$RF" "${RL:-}"; do
    [ -n "$d" ] && [ -s "$d/argv.log" ] || continue
    echo "-- $d/argv.log: $(wc -l < "$d/argv.log") calls"
    sed -E "s#$S/##g; s#/overlay/l/[A-Z0-9]{26}#/overlay/l/<L>#g; s#/overlay/[0-9a-f]{64}/#/overlay/<ID>/#g" "$d/argv.log" | sort | uniq -c | sed 's/^/   /'
done
if want rootful; then
    log=$RF/argv.log
    grep -qE '^0 .* -o lowerdir=[^ ]*,upperdir=[^ ]*,workdir=[^ ]*, /' "$log" || fail "no plain run mount in $log"
    grep -qE ',,volatile /' "$log" || { want rm && fail "no volatile mount in $log"; }
    grep -qE '^0 [^ ]+ -o lowerdir=[^ ,]+ /' "$log" || fail "no read-only (commit) mount in $log"
    grep -qE ',,uidmapping=:0:100000:65536,gidmapping=:0:100000:65536 /' "$log" || { want uidmap && fail "no uidmapping mount in $log"; }
fi
if want rootless; then
    log=$RL/argv.log
    me=$(readlink /proc/self/ns/user)
    grep -qE '^0 ' "$log" || fail "rootless: wrapper never ran as uid 0 of podman's user namespace"
    if grep -q "$me" "$log"; then fail "rootless: wrapper ran in the host's user namespace"; fi
    grep -qE ',uidmapping=:0:1:[0-9]+:[0-9]+:0:1:[0-9]+:[0-9]+:[0-9]+,gidmapping=' "$log" || fail "rootless: no keep-id uidmapping mount in $log"
fi

echo
echo "== run times"
printf '%s\n' "${TIMES[@]}"
[ -z "${ROOTFUL_TABLE:-}" ] || { echo; echo "rootful table:"; echo "$ROOTFUL_TABLE"; }
[ -z "${UIDMAP_TABLE:-}" ] || { echo; echo "--uidmap table:"; echo "$UIDMAP_TABLE"; }
[ -z "${RL_TABLE:-}" ] || { echo; echo "rootless table:"; echo "$RL_TABLE"; }
DONE=1

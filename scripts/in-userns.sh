#!/usr/bin/env bash
# in-userns.sh BASE COUNT CMD [ARG...]: run CMD as uid/gid 0 in new user, mount and pid namespaces
# whose ids 0..COUNT-1 are host ids BASE..BASE+COUNT-1 (the map of a user-namespaced workspace or
# rootless container). Needs root. The maps are written from this (parent) process, so neither
# newuidmap nor /etc/subuid entries are needed. A holder process keeps the namespaces; CMD joins
# them with nsenter. Exits with CMD's status.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BASE COUNT CMD [ARG...]" >&2; exit 2; }
base=$1 count=$2
shift 2
me=$(readlink /proc/self/ns/user)
# (stderr dropped: unshare complains when its child is SIGKILLed; a failure to create the
# namespaces is caught below.)
unshare --user --mount --pid --fork --kill-child --propagation private -- sleep 3600 2>/dev/null &
holder=$!
inner=
# The holder is pid 1 of the new pid namespace: only SIGKILL reaches it (unshare itself ignores
# SIGTERM while it waits). Killing it before any unmount matters: its mount namespace holds a copy
# of every mount that existed when it was created.
stop_holder() {
    if [ -n "$inner" ]; then kill -KILL "$inner" 2>/dev/null || true; else kill -KILL "$holder" 2>/dev/null || true; fi
    wait "$holder" 2>/dev/null || true
}
trap stop_holder EXIT
for _ in $(seq 500); do
    inner=$(cat "/proc/$holder/task/$holder/children" 2>/dev/null | awk '{print $1}')
    [ -n "$inner" ] && [ "$(readlink "/proc/$inner/ns/user" 2>/dev/null || echo "$me")" != "$me" ] && break
    sleep 0.01
done
[ -n "$inner" ] && [ "$(readlink "/proc/$inner/ns/user")" != "$me" ] || { echo "in-userns: namespaces not created" >&2; exit 1; }
echo "0 $base $count" > "/proc/$inner/uid_map"
echo "0 $base $count" > "/proc/$inner/gid_map"
set +e
nsenter --user --mount --pid --target "$inner" --setuid 0 --setgid 0 --wd -- "$@"
rc=$?
stop_holder
exit $rc

#!/usr/bin/env bash
# Runs the whole test suite (build included) in a private mount namespace, so that no mount made by
# the integration tests can leak into the host's namespace. Extra arguments go to `swift test`
# (e.g. `bash scripts/test.sh --filter IntegrationTests`). Exits with swift test's status.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_deps libfuse3-dev libattr1-dev fuse3 attr acl libcap2-bin debootstrap gcc tar findutils coreutils util-linux
need_swift

echo "== swift test $* (in a private mount namespace)"
# As non-root, sudo is needed for mounting; PATH is passed on so the same swift is used.
exec "${SUDO[@]}" env "PATH=$PATH" unshare -m --propagation private swift test "$@"

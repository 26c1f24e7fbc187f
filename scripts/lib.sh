# Shared by scripts/demo.sh and scripts/test.sh (sourced, not run).

# SUDO is empty as root, "sudo" otherwise.
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

# ensure_deps PKG...: apt-get install the Debian packages that are missing (nothing to do, and
# no apt-get update, when all are installed already).
ensure_deps() {
    local missing=() p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "== dependencies present: $*"
        return 0
    fi
    echo "== installing: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# need_swift: fail clearly when the Swift toolchain is not on PATH.
need_swift() {
    command -v swift >/dev/null || {
        echo "error: swift is not on PATH (install Swift 6.x from swift.org and add its usr/bin to PATH)" >&2
        exit 1
    }
}

# The Debian mirror apt is configured with (for debootstrap), the first non-security source.
mirror_url() {
    local u
    u=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
    [ -n "$u" ] || u=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
    echo "${u:-http://deb.debian.org/debian}"
}

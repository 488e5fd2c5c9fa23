#!/usr/bin/env bash
# Install and fetch everything the private test engines need (Debian 12, root). Idempotent: when all is
# present it only checks (well under a second) and touches neither apt nor the network.
#
#   bookworm packages: docker.io containerd runc busybox-static curl tmux (the live view's terminal specs),
#                      and podman (without its CNI config,
#                      so it cannot leak into a CRI containerd)
#   trixie suite:      added pinned low (priority 100, nothing is upgraded from it), mirror URI taken from
#                      the machine's own apt sources
#   trixie packages:   apt-get download + dpkg -x into ${WW_CACHE:-/var/cache/whalewatcher}/trixie/x-<pkg>:
#                      docker.io 26 (dockerd), containerd 1.7, docker-compose v2 (CLI plugin), and the
#                      containerd / CRI .proto sources (golang-*-dev)
#   compose v2:        ${WW_CACHE}/cli-plugins/docker-compose (a docker CLI plugin dir; start.sh points
#                      DOCKER_CONFIG/cli-plugins at it)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
ww_require_root
export DEBIAN_FRONTEND=noninteractive
T0=$(ww_now_ms)

BOOKWORM_PKGS=(docker.io containerd runc busybox-static curl tmux)
TRIXIE_PKGS=(docker.io containerd docker-compose golang-github-kubernetes-cri-api-dev golang-github-containerd-containerd-dev)
APT=(apt-get -q -o DPkg::Lock::Timeout=300)

mkdir -p "$WW_TRIXIE" "$WW_CACHE/cli-plugins"
# one installer at a time (two test runs on one machine)
exec 9>"$WW_CACHE/.install.lock"
flock -w 900 9 || ww_die "timed out waiting for $WW_CACHE/.install.lock"

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
updated=0
# an unreachable third-party source makes `apt-get update` exit non-zero although Debian's lists are fine:
# go on, a package that then cannot be found fails loudly anyway
apt_update() {
  [ $updated = 1 ] && return 0
  "${APT[@]}" update 9>&- || echo "install.sh: apt-get update reported errors (see above); continuing" >&2
  updated=1
}
# keep package scripts from starting the host's own dockerd/containerd while we install (no systemd here,
# so invoke-rc.d would use the init scripts); only if the machine has no policy of its own
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
DL=
cleanup() {
  [ -z "$DL" ] || rm -rf "$DL"
  [ $OWN_POLICY = 0 ] || rm -f "$POLICY"
}
trap cleanup EXIT
deny_services() {
  [ -e "$POLICY" ] && return 0
  printf '#!/bin/sh\n# temporary, from whalewatcher scripts/engines/install.sh\nexit 101\n' > "$POLICY"
  chmod +x "$POLICY"
  OWN_POLICY=1
}
apt_install() { deny_services; "${APT[@]}" install -y --no-upgrade "$@" 9>&-; }
did=()

# --- trixie pin first: with the suite present but unpinned, installing bookworm packages would pick trixie's
PIN_FILE=/etc/apt/preferences.d/whalewatcher-trixie
if ! grep -rqsE '^\s*Pin:\s*release\s+(.*,)?n=trixie' /etc/apt/preferences /etc/apt/preferences.d/; then
  printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > "$PIN_FILE"
  did+=("pinned trixie low ($PIN_FILE)")
fi

# --- bookworm packages
missing=()
for p in "${BOOKWORM_PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  apt_install "${missing[@]}"
  did+=("installed ${missing[*]}")
fi
if ! installed podman; then
  apt_update
  # the podman package ships /etc/cni/net.d/87-podman-bridge.conflist: keep it out of the host's CNI dir
  apt_install -o 'DPkg::Options::=--path-exclude=/etc/cni/net.d/*' podman
  did+=("installed podman")
fi

# --- trixie suite (mirror URI from the machine's own bookworm source; no host name is written here)
has_trixie_source() {
  grep -rqsE '^\s*Suites:.*(^|\s)trixie(\s|$)|^\s*deb\s+(\[[^]]*\]\s+)?\S+\s+trixie\s' \
    /etc/apt/sources.list /etc/apt/sources.list.d/
}
bookworm_uri() {
  local f
  # deb822: first stanza whose Suites has plain "bookworm"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { uri = ""; ok = 0
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
             if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == "bookworm") ok = 1 }
           }
           if (ok && uri != "") { print uri; exit } }' "$f"
  done | head -n1 | grep . && return 0
  # one-line format: deb [opts] URI bookworm ...
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == "bookworm") { print $i; exit } }' |
    grep .
}
if ! has_trixie_source; then
  URI=$(bookworm_uri) || ww_die "no bookworm source found in /etc/apt to take the mirror URI from"
  cat > /etc/apt/sources.list.d/whalewatcher-trixie.sources <<SRC
Types: deb
URIs: $URI
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  did+=("added trixie suite (whalewatcher-trixie.sources)")
  updated=0
  apt_update
fi

# --- trixie packages, unpacked into the persistent cache
fetch=()
for p in "${TRIXIE_PKGS[@]}"; do [ -f "$WW_TRIXIE/x-$p/.complete" ] || fetch+=("$p"); done
if [ ${#fetch[@]} -gt 0 ]; then
  # lists may predate the suite (added by hand, or never updated)
  apt-cache madison docker.io 2>/dev/null | grep -q ' trixie/' || apt_update
  DL=$(mktemp -d "$WW_TRIXIE/.download.XXXXXX")
  # let apt's sandbox user write there (avoids the "unsandboxed as root" warning)
  id _apt >/dev/null 2>&1 && chown _apt "$DL"
  specs=(); for p in "${fetch[@]}"; do specs+=("$p/trixie"); done
  (cd "$DL" && "${APT[@]}" download "${specs[@]}" 9>&-)
  for p in "${fetch[@]}"; do
    deb=$(ls "$DL/${p}"_*.deb)
    rm -rf "$WW_TRIXIE/x-$p" "$WW_TRIXIE/x-$p.tmp"
    mkdir "$WW_TRIXIE/x-$p.tmp"
    dpkg -x "$deb" "$WW_TRIXIE/x-$p.tmp"
    dpkg-deb -f "$deb" Version > "$WW_TRIXIE/x-$p.tmp/.complete"
    mv "$WW_TRIXIE/x-$p.tmp" "$WW_TRIXIE/x-$p"
  done
  did+=("fetched trixie ${fetch[*]}")
fi

# --- compose v2 as a docker CLI plugin
PLUGIN=../trixie/x-docker-compose/usr/libexec/docker/cli-plugins/docker-compose
[ "$(readlink "$WW_CACHE/cli-plugins/docker-compose" 2>/dev/null)" = "$PLUGIN" ] ||
  ln -sfn "$PLUGIN" "$WW_CACHE/cli-plugins/docker-compose"

# --- sanity: every binary the engines use must run here
DOCKER=$(ww_docker_cli) || ww_die "no working docker CLI (expected /usr/bin/docker from docker.io)"
for b in /usr/sbin/dockerd /usr/bin/containerd /usr/bin/ctr /usr/sbin/runc /usr/bin/podman /usr/bin/curl \
         "$WW_TRIXIE/x-docker.io/usr/sbin/dockerd" "$WW_TRIXIE/x-containerd/usr/bin/containerd" \
         "$WW_TRIXIE/x-containerd/usr/bin/containerd-shim-runc-v2" "$WW_TRIXIE/x-containerd/usr/bin/ctr" \
         "$WW_CACHE/cli-plugins/docker-compose"; do
  [ -x "$b" ] || ww_die "missing $b"
done
V_D26=$("$WW_TRIXIE/x-docker.io/usr/sbin/dockerd" --version) || ww_die "trixie dockerd does not run"
V_C17=$("$WW_TRIXIE/x-containerd/usr/bin/containerd" --version) || ww_die "trixie containerd does not run"
/bin/busybox --help >/dev/null 2>&1 || ww_die "/bin/busybox (busybox-static) does not run"

[ ${#did[@]} -gt 0 ] && printf 'install.sh: %s\n' "${did[@]}"
echo "install.sh: ready in $(( $(ww_now_ms) - T0 )) ms (docker CLI $DOCKER; trixie: ${V_D26%%, build*}; ${V_C17% *}; cache $WW_CACHE)"

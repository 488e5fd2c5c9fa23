#!/bin/sh
# Locate the upstream containerd and CRI .proto definitions, fetching them when absent.
# Prints two lines:
#   CONTAINERD_ROOT=<dir holding github.com/containerd/containerd/api/...>
#   CRI_API_PROTO=<path of k8s.io/cri-api/pkg/apis/runtime/v1/api.proto>
# Overrides: WW_CONTAINERD_PROTO_ROOT, WW_CRI_API_PROTO (used as given, never fetched),
#   WW_TRIXIE_DIR (default ${WW_CACHE:-/var/cache/whalewatcher}/trixie), where the Debian trixie
#   packages golang-github-containerd-containerd-dev and golang-github-kubernetes-cri-api-dev are
#   (or get) unpacked as x-<package>/ by `apt-get download <package>/trixie` + `dpkg -x`
#   (the same layout scripts/engines/install.sh uses). Adds the trixie suite to apt when missing,
#   taking the mirror URI from the machine's own Debian source (no host name is written here).
set -eu
TRIXIE=${WW_TRIXIE_DIR:-${WW_CACHE:-/var/cache/whalewatcher}/trixie}
CTD_PKG=golang-github-containerd-containerd-dev
CRI_PKG=golang-github-kubernetes-cri-api-dev
CTD_ROOT=${WW_CONTAINERD_PROTO_ROOT:-$TRIXIE/x-$CTD_PKG/usr/share/gocode/src}
CRI_PROTO=${WW_CRI_API_PROTO:-$TRIXIE/x-$CRI_PKG/usr/share/gocode/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto}

add_trixie_source() {
  if grep -rqs 'trixie' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then return 0; fi
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $0 ~ /bookworm/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "upstream.sh: cannot find the Debian mirror URI in the apt sources" >&2; return 1; }
  echo "upstream.sh: adding the trixie suite (pinned low) to apt" >&2
  cat > /etc/apt/sources.list.d/trixie.sources <<SRC
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > /etc/apt/preferences.d/trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  apt-get update -q >&2
}

fetch() { # fetch <package>: unpack into $TRIXIE/x-<package> (atomically, so concurrent runs are safe)
  pkg=$1
  [ "$(id -u)" = 0 ] || { echo "upstream.sh: $pkg is not unpacked under $TRIXIE; run as root to fetch it" >&2; exit 1; }
  mkdir -p "$TRIXIE"
  tmp=$(mktemp -d "$TRIXIE/.fetch-$pkg.XXXXXX")
  (
    cd "$tmp"
    if ! apt-get download "$pkg/trixie" >&2 2>/dev/null; then
      add_trixie_source
      apt-get download "$pkg/trixie" >&2 || { apt-get update -q >&2; apt-get download "$pkg/trixie" >&2; }
    fi
    mkdir x
    dpkg -x "$pkg"_*.deb x
  ) || { rm -rf "$tmp"; echo "upstream.sh: could not fetch $pkg/trixie" >&2; exit 1; }
  if [ ! -d "$TRIXIE/x-$pkg" ]; then mv "$tmp/x" "$TRIXIE/x-$pkg" 2>/dev/null || true; fi
  cp -n "$tmp/$pkg"_*.deb "$TRIXIE/" 2>/dev/null || true
  rm -rf "$tmp"
}

if [ ! -f "$CTD_ROOT/github.com/containerd/containerd/api/services/tasks/v1/tasks.proto" ]; then
  [ -z "${WW_CONTAINERD_PROTO_ROOT:-}" ] || { echo "upstream.sh: no containerd protos under WW_CONTAINERD_PROTO_ROOT=$CTD_ROOT" >&2; exit 1; }
  fetch "$CTD_PKG"
fi
if [ ! -f "$CRI_PROTO" ]; then
  [ -z "${WW_CRI_API_PROTO:-}" ] || { echo "upstream.sh: no file at WW_CRI_API_PROTO=$CRI_PROTO" >&2; exit 1; }
  fetch "$CRI_PKG"
fi
echo "CONTAINERD_ROOT=$CTD_ROOT"
echo "CRI_API_PROTO=$CRI_PROTO"

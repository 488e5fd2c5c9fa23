#!/bin/sh
# Make sure protoc (Debian's protobuf-compiler) and the well-known types it includes
# (google/protobuf/*.proto, from libprotobuf-dev) are installed; install them when missing
# (needs root). Prints the protoc path. Override with PROTOC=/path/to/protoc.
set -eu
PROTOC=${PROTOC:-protoc}
wkt_ok() {
  # protoc adds <prefix>/include next to its binary to the import path
  bin=$(command -v "$PROTOC" 2>/dev/null) || return 1
  [ -f "$(dirname "$(readlink -f "$bin")")/../include/google/protobuf/timestamp.proto" ]
}
if ! command -v "$PROTOC" >/dev/null 2>&1 || ! wkt_ok; then
  if [ "$PROTOC" != protoc ]; then echo "ensure-protoc: $PROTOC is not usable (missing, or no google/protobuf includes beside it)" >&2; exit 1; fi
  [ "$(id -u)" = 0 ] || { echo "ensure-protoc: protoc missing; run as root or: apt-get install -y protobuf-compiler libprotobuf-dev" >&2; exit 1; }
  echo "ensure-protoc: installing protobuf-compiler libprotobuf-dev" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q protobuf-compiler libprotobuf-dev >&2 || {
    apt-get update -q >&2 && apt-get install -y -q protobuf-compiler libprotobuf-dev >&2
  }
  wkt_ok || { echo "ensure-protoc: protoc still unusable after install" >&2; exit 1; }
fi
command -v "$PROTOC"

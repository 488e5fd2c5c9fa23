#!/usr/bin/env bash
# Restart one engine's daemon on the same dirs and socket, e.g. after a test killed it (SIGKILL) under a
# watcher. Containers stay where the engine keeps them: containerd tasks and podman containers (conmon)
# survive; docker kills its containers when dockerd dies (no live-restore) and restores their state.
#   restart.sh <engine>     prints the same READY line as start.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ENGINE=${1:?usage: restart.sh <docker20|docker26|podman|containerd17|containerd16>}
"$HERE/stop.sh" --daemon-only "$ENGINE"
exec "$HERE/start.sh" "$ENGINE"

#!/usr/bin/env bash
# Start one private test engine under $WW_LAB/<engine>/ and wait until it answers (bounded):
#   docker20      bookworm dockerd 20.10 (+ its managed bookworm containerd 1.6)     docker.sock
#   docker26      trixie dockerd 26.1 + trixie containerd 1.7 + bookworm runc          docker.sock
#   podman        bookworm podman 4.3 `system service` (Docker-compatible + libpod API) podman.sock
#   containerd17  trixie containerd 1.7 with the CRI plugin (GetContainerEvents works)  containerd.sock
#   containerd16  bookworm containerd 1.6 with the CRI plugin (GetContainerEvents: UNIMPLEMENTED)
# then loads busybox:lab (docker/podman) or imports it into namespaces default and k8s.io, plus pause:lab in
# k8s.io (containerd), and writes $WW_LAB/<engine>/env (shell exports for the engine's CLI).
# Idempotent: an engine that already runs is left alone; images are loaded once per lab (restart.sh reuses
# this script to bring a stopped or killed daemon back on the same dirs and socket).
# Last line on success: READY <engine> ready_ms=<ms> endpoint=<endpoint>
# Needs: root, install.sh and mk-images.sh run before, WW_LAB set. WW_START_TIMEOUT (s, default 60).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
ENGINE=${1:?usage: start.sh <docker20|docker26|podman|containerd17|containerd16>}
KIND=$(ww_kind "$ENGINE")
ww_require_root
ww_require_lab
BASE=$WW_LAB/$ENGINE
IMAGES=$WW_LAB/images
TIMEOUT=${WW_START_TIMEOUT:-60}
mkdir -p "$BASE"
LOG=$BASE/daemon.log

case $KIND in
  docker) SOCK=$BASE/docker.sock; ENDPOINT=unix://$SOCK ;;
  podman) SOCK=$BASE/podman.sock; ENDPOINT=unix://$SOCK ;;
  containerd) SOCK=$BASE/containerd.sock; ENDPOINT=$SOCK; CTR=$(ww_ctr "$ENGINE") ;;
esac
DOCKER=$(ww_docker_cli) || ww_die "no working docker CLI"

is_ready() {
  case $KIND in
    docker|podman) curl -sf --max-time 2 --unix-socket "$SOCK" http://engine/_ping >/dev/null 2>&1 ;;
    containerd) timeout 5 "$CTR" --address "$SOCK" version >/dev/null 2>&1 ;;
  esac
}

write_config() {
  if [ "$KIND" != containerd ]; then
    # private docker CLI config dir whose cli-plugins has compose v2 (`docker compose`)
    mkdir -p "$BASE/docker-config"
    ln -sfn "$WW_CACHE/cli-plugins" "$BASE/docker-config/cli-plugins"
    # podman reads DOCKER_CONFIG/config.json for registry auth and fails when it is missing
    [ -f "$BASE/docker-config/config.json" ] || echo '{}' > "$BASE/docker-config/config.json"
  fi
  case $ENGINE in
    docker*)
      [ -f "$BASE/daemon.json" ] || echo '{}' > "$BASE/daemon.json"   # never read the host's /etc/docker/daemon.json
      ;;
    podman)
      mkdir -p "$BASE/tmp" "$BASE/net"
      # cgroupfs (no systemd), file events, no network namespace (no CNI/netavark setup), private locks;
      # default rlimits fail in runc on these VMs (nofile above the hard limit, nproc above 32768)
      cat > "$BASE/containers.conf" <<CONF
[containers]
netns = "none"
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$BASE/events.log"
runtime = "runc"
lock_type = "file"
tmp_dir = "$BASE/tmp"
static_dir = "$BASE/root/libpod"
volume_path = "$BASE/root/volumes"

[network]
network_config_dir = "$BASE/net"
CONF
      cat > "$BASE/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$BASE/root"
runroot = "$BASE/runroot"
CONF
      ;;
    containerd*)
      mkdir -p "$BASE/cni/bin" "$BASE/cni/net.d"
      cat > "$BASE/config.toml" <<TOML
version = 2
root = "$BASE/root"
state = "$BASE/state"

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$BASE/opt"

[plugins."io.containerd.grpc.v1.cri"]
  # must already exist in namespace k8s.io under exactly this normalized name (no registry here)
  sandbox_image = "docker.io/library/pause:lab"
  enable_selinux = false
  disable_apparmor = true
  # CRI gives sandboxes oom_score_adj=-998, which needs CAP_SYS_RESOURCE: clamp instead
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    # private and empty: only host-network pods (NamespaceOption network=NODE) are used
    bin_dir = "$BASE/cni/bin"
    conf_dir = "$BASE/cni/net.d"
TOML
      ;;
  esac
}

write_env() {
  {
    echo "# $ENGINE test engine: source this file to drive it with its CLI"
    case $KIND in
      docker)
        echo "export DOCKER_HOST='$ENDPOINT'"
        echo "export DOCKER_CONFIG='$BASE/docker-config'"
        echo "export WW_DOCKER_CLI='$DOCKER'"
        ;;
      podman)
        echo "export CONTAINERS_CONF='$BASE/containers.conf'"
        echo "export CONTAINERS_STORAGE_CONF='$BASE/storage.conf'"
        echo "export DOCKER_HOST='$ENDPOINT'"
        echo "export DOCKER_CONFIG='$BASE/docker-config'"
        echo "export WW_DOCKER_CLI='$DOCKER'"
        echo "export WW_PODMAN_CLI='$(command -v podman)'"
        ;;
      containerd)
        echo "export CONTAINERD_ADDRESS='$SOCK'"
        echo "export CONTAINERD_NAMESPACE='default'"
        echo "export CONTAINER_RUNTIME_ENDPOINT='unix://$SOCK'"
        echo "export WW_CTR_CLI='$CTR'"
        ;;
    esac
  } > "$BASE/env.tmp"
  mv "$BASE/env.tmp" "$BASE/env"
}

ready_line() { echo "READY $ENGINE ready_ms=$1 endpoint=$ENDPOINT"; }

# already running?
if PID=$(ww_pidfile_alive "$BASE/daemon.pid"); then
  is_ready || ww_die "$ENGINE: daemon pid $PID runs but does not answer on $SOCK (see $LOG)"
  [ -f "$BASE/env" ] || write_env
  echo "$ENGINE: already running (pid $PID)"
  ready_line 0
  exit 0
fi

write_config
# stale after a SIGKILL (dockerd refuses to start while its pidfile names a process that is not yet reaped)
rm -f "$SOCK" "$SOCK.ttrpc"
# (nor may the pidfile of its managed containerd, which dies with it, or dockerd waits for a corpse)
for f in "$BASE/dockerd.pid" "$BASE/exec/containerd/containerd.pid"; do
  if [ -f "$f" ] && ! ww_pid_alive "$(cat "$f")"; then rm -f "$f"; fi
done
echo "--- $(date -Is) start" >> "$LOG"
DPATH=$(ww_daemon_path "$ENGINE")
T0=$(ww_now_ms)
case $KIND in
  docker)
    ww_launch "$BASE" "$LOG" "$DPATH" dockerd --host "$ENDPOINT" --data-root "$BASE/data" --exec-root "$BASE/exec" \
      --pidfile "$BASE/dockerd.pid" --config-file "$BASE/daemon.json" --iptables=false --ip6tables=false \
      --bridge=none --shutdown-timeout 2
    ;;
  podman)
    ww_launch "$BASE" "$LOG" "$DPATH" env CONTAINERS_CONF="$BASE/containers.conf" \
      CONTAINERS_STORAGE_CONF="$BASE/storage.conf" podman system service --time=0 "$ENDPOINT"
    ;;
  containerd)
    # runc keeps its state in /run/containerd/runc/<namespace> whatever containerd's own dirs are, so two
    # containerds on one host share it and a container id used on both clobbers the other's container.
    # Give each daemon (and its shims and runc, which inherit it) a private mount namespace where that dir
    # is $BASE/runc. Everything else (/run/containerd/fifo of ctr clients, ...) stays shared.
    mkdir -p "$BASE/runc" /run/containerd/runc
    ww_launch "$BASE" "$LOG" "$DPATH" unshare --mount --propagation private \
      sh -c 'mount --bind "$0" /run/containerd/runc && exec "$@"' "$BASE/runc" \
      containerd --config "$BASE/config.toml"
    ;;
esac
PID=$(cat "$BASE/daemon.pid")
deadline=$(( T0 + TIMEOUT * 1000 ))
until is_ready; do
  if ! ww_pid_alive "$PID" || [ "$(ww_now_ms)" -gt $deadline ]; then
    if ww_pid_alive "$PID"; then why="not ready after ${TIMEOUT}s"; else why="daemon exited"; fi
    echo "$ENGINE: $why; last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2 || true
    ww_stop_daemon "$BASE" 5 || true
    exit 1
  fi
  sleep 0.05
done
READY_MS=$(( $(ww_now_ms) - T0 ))
echo "$ENGINE: daemon pid $PID answers on $ENDPOINT after $READY_MS ms"

# images, once per lab (they survive daemon restarts)
if [ ! -f "$BASE/.images-loaded" ]; then
  T1=$(ww_now_ms)
  [ -s "$IMAGES/busybox.tar" ] && [ -s "$IMAGES/pause.tar" ] || ww_die "no images in $IMAGES: run mk-images.sh first"
  case $KIND in
    docker)
      timeout 120 "$DOCKER" -H "$ENDPOINT" load -q -i "$IMAGES/busybox.tar" ;;
    podman)
      export CONTAINERS_CONF=$BASE/containers.conf CONTAINERS_STORAGE_CONF=$BASE/storage.conf
      # named localhost/busybox:lab; the short name busybox:lab resolves to it
      timeout 120 podman load -q -i "$IMAGES/busybox.tar"
      ;;
    containerd)
      timeout 120 "$CTR" --address "$SOCK" -n default images import "$IMAGES/busybox.tar" >/dev/null
      timeout 120 "$CTR" --address "$SOCK" -n k8s.io images import "$IMAGES/busybox.tar" >/dev/null
      timeout 120 "$CTR" --address "$SOCK" -n k8s.io images import "$IMAGES/pause.tar" >/dev/null
      ;;
  esac
  touch "$BASE/.images-loaded"
  echo "$ENGINE: images loaded in $(( $(ww_now_ms) - T1 )) ms"
fi
write_env
ready_line "$READY_MS"

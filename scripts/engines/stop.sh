#!/usr/bin/env bash
# Stop private test engines under $WW_LAB and leave nothing behind.
#   stop.sh [<engine>...]                 default: every engine dir in $WW_LAB
#   stop.sh --daemon-only <engine>...     stop just the daemon, keep containers where the engine keeps them
#                                         (used by restart.sh)
# Full stop, per engine (engines in parallel): remove containers/tasks/pods while the daemon still answers
# (docker rm -f; ctr tasks kill+delete and containers delete in every namespace; podman pod rm / rm -af -t 0),
# stop the daemon by its pidfile (SIGTERM, bounded wait, SIGKILL), SIGKILL whatever still belongs to the
# engine dir (shims, conmon, managed containerd, container processes), unmount everything below it (overlay
# rootfs, CRI sandbox /dev/shm). Exit 1 if a process or mount is left.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
ww_require_root
ww_require_lab
DAEMON_ONLY=0
if [ "${1:-}" = --daemon-only ]; then DAEMON_ONLY=1; shift; fi
if [ $# -gt 0 ]; then ENGINES=("$@"); else
  ENGINES=(); for e in $WW_ALL_ENGINES; do [ -d "$WW_LAB/$e" ] && ENGINES+=("$e"); done
fi
for e in "${ENGINES[@]}"; do ww_kind "$e" >/dev/null; done
DOCKER=$(ww_docker_cli || echo docker)

remove_containers() {
  local e=$1 base=$2 ids ns t c ctr sock
  case $(ww_kind "$e") in
    docker)
      sock=unix://$base/docker.sock
      ww_pidfile_alive "$base/daemon.pid" >/dev/null || return 0
      ids=$(timeout 30 "$DOCKER" -H "$sock" ps -aq 2>/dev/null) || return 0
      [ -z "$ids" ] || timeout 60 "$DOCKER" -H "$sock" rm -f -v $ids >/dev/null 2>&1 || true
      ;;
    containerd)
      ctr=$(ww_ctr "$e"); sock=$base/containerd.sock
      ww_pidfile_alive "$base/daemon.pid" >/dev/null || return 0
      for ns in $(timeout 10 "$ctr" --address "$sock" namespaces ls -q 2>/dev/null); do
        for t in $(timeout 10 "$ctr" --address "$sock" -n "$ns" tasks ls -q 2>/dev/null); do
          timeout 10 "$ctr" --address "$sock" -n "$ns" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true
        done
        for t in $(timeout 10 "$ctr" --address "$sock" -n "$ns" tasks ls -q 2>/dev/null); do
          timeout 20 "$ctr" --address "$sock" -n "$ns" tasks delete -f "$t" >/dev/null 2>&1 || true
        done
        for c in $(timeout 10 "$ctr" --address "$sock" -n "$ns" containers ls -q 2>/dev/null); do
          timeout 20 "$ctr" --address "$sock" -n "$ns" containers delete "$c" >/dev/null 2>&1 || true
        done
      done
      ;;
    podman)
      [ -f "$base/containers.conf" ] || return 0
      # the CLI works on the storage directly, with or without the service
      CONTAINERS_CONF=$base/containers.conf CONTAINERS_STORAGE_CONF=$base/storage.conf \
        timeout 60 podman pod rm -af -t 0 >/dev/null 2>&1 || true
      CONTAINERS_CONF=$base/containers.conf CONTAINERS_STORAGE_CONF=$base/storage.conf \
        timeout 60 podman rm -af -t 0 >/dev/null 2>&1 || true
      ;;
  esac
}

stop_one() {
  local e=$1 base=$WW_LAB/$1 t0 pid rc=0
  [ -d "$base" ] || return 0
  t0=$(ww_now_ms)
  pid=$(cat "$base/daemon.pid" 2>/dev/null || echo '-')
  if [ $DAEMON_ONLY = 1 ]; then
    ww_stop_daemon "$base" 15 || rc=1
    echo "stop.sh: $e daemon (pid $pid) stopped in $(( $(ww_now_ms) - t0 )) ms"
    return $rc
  fi
  remove_containers "$e" "$base"
  ww_stop_daemon "$base" 15 || rc=1
  ww_sweep "$base" || rc=1
  ww_umount_all "$base" || rc=1
  rm -f "$base/env" "$base/.images-loaded"
  if [ $rc = 0 ]; then echo "stop.sh: $e (pid $pid) stopped in $(( $(ww_now_ms) - t0 )) ms, nothing left"
  else echo "stop.sh: $e (pid $pid) NOT cleanly stopped (see above)" >&2; fi
  return $rc
}

pids=()
for e in "${ENGINES[@]}"; do stop_one "$e" & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc

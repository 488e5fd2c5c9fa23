# Shared helpers for scripts/engines/*.sh (sourced, not run). Bash only.
#
# Layout (all private, nothing touches the host's own engines):
#   ${WW_CACHE:-/var/cache/whalewatcher}/trixie/x-<pkg>   trixie packages unpacked by install.sh
#   ${WW_CACHE}/cli-plugins/docker-compose                 compose v2 CLI plugin (symlink)
#   ${WW_CACHE}/images/<key>/{busybox,pause}.tar           image tarballs built by mk-images.sh
#   $WW_LAB/images/{busybox,pause}.tar                     copies used by start.sh
#   $WW_LAB/<engine>/                                      one engine: sockets, data, logs, daemon.pid, env

WW_CACHE=${WW_CACHE:-/var/cache/whalewatcher}
WW_TRIXIE=$WW_CACHE/trixie
WW_ALL_ENGINES="docker20 docker26 podman containerd17 containerd16"

ww_die() { echo "$(basename "$0"): $*" >&2; exit 1; }
ww_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

ww_require_lab() {
  [ -n "${WW_LAB:-}" ] || ww_die 'WW_LAB is not set (e.g. export WW_LAB=$(mktemp -d /tmp/ww-lab.XXXXXX))'
  case $WW_LAB in /*) ;; *) ww_die "WW_LAB must be an absolute path: $WW_LAB" ;; esac
  [ -d "$WW_LAB" ] || ww_die "WW_LAB is not a directory: $WW_LAB"
}

ww_require_root() { [ "$(id -u)" = 0 ] || ww_die "must run as root"; }

# docker | podman | containerd
ww_kind() {
  case $1 in
    docker20|docker26) echo docker ;;
    podman) echo podman ;;
    containerd17|containerd16) echo containerd ;;
    *) ww_die "unknown engine '$1' (one of: $WW_ALL_ENGINES)" ;;
  esac
}

# The docker CLI to drive docker engines with: bookworm's /usr/bin/docker first (the one shipped with the
# engine), else whatever `docker` on PATH answers --version.
ww_docker_cli() {
  local c
  for c in /usr/bin/docker "$(command -v docker 2>/dev/null || true)"; do
    [ -n "$c" ] && [ -x "$c" ] && "$c" --version >/dev/null 2>&1 && { echo "$c"; return 0; }
  done
  return 1
}

# ctr matching the containerd flavour
ww_ctr() {
  case $1 in
    containerd17) echo "$WW_TRIXIE/x-containerd/usr/bin/ctr" ;;
    *) echo /usr/bin/ctr ;;
  esac
}

# PATH for an engine's daemon (trixie binaries first where the engine needs them; runc stays bookworm's)
ww_daemon_path() {
  case $1 in
    docker26) echo "$WW_TRIXIE/x-docker.io/usr/sbin:$WW_TRIXIE/x-containerd/usr/bin:$PATH" ;;
    containerd17) echo "$WW_TRIXIE/x-containerd/usr/bin:$PATH" ;;
    *) echo "$PATH" ;;
  esac
}

# true when pid is a live (non-zombie) process
ww_pid_alive() {
  local st
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid from a pidfile if that process is alive
ww_pidfile_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  ww_pid_alive "$pid" && echo "$pid"
}

# wait (bounded, seconds, may be fractional via tenths) until pid is gone
ww_wait_gone() {
  local pid=$1 tenths=$(( ${2:-10} * 10 )) i=0
  while ww_pid_alive "$pid"; do
    i=$((i + 1)); [ $i -gt $tenths ] && return 1
    sleep 0.1
  done
}

# best effort: wait (up to $2 s) until pid is reaped too, so `ps` shows no <defunct> leftovers
ww_wait_reaped() {
  local i=0
  while [ -e "/proc/$1" ] && [ $i -lt $(( ${2:-3} * 10 )) ]; do i=$((i + 1)); sleep 0.1; done
  return 0
}

# Start a daemon in its own session (so a Ctrl-C at the test runner does not hit it before the cleanup
# ran), stdin closed, output to a log, pid written to $base/daemon.pid by the process itself.
#   ww_launch BASE LOG PATH CMD...
ww_launch() {
  local base=$1 log=$2 path=$3; shift 3
  rm -f "$base/daemon.pid"
  # in its own folder: what a daemon or its monitors write to their working directory (podman's conmon
  # leaves a file named after an OOM event there) stays in the lab, not in the caller's work tree
  # (only the daemon goes to the background, with its output in the log: the subshell ends at once and holds
  # no pipe of the caller open)
  (
    cd "$base" || exit 1
    PATH=$path setsid sh -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$base/daemon.pid" "$@" \
      </dev/null >>"$log" 2>&1 &
  )
  local i=0
  until [ -s "$base/daemon.pid" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && ww_die "daemon did not write $base/daemon.pid"
    sleep 0.02
  done
}

# Stop the daemon of $base by its pidfile: SIGTERM, bounded wait, then SIGKILL. Leaves containers alone.
ww_stop_daemon() {
  local base=$1 secs=${2:-15} pid
  if pid=$(ww_pidfile_alive "$base/daemon.pid"); then
    kill -TERM "$pid" 2>/dev/null || true
    if ! ww_wait_gone "$pid" "$secs"; then
      echo "$(basename "$base"): daemon pid $pid ignored SIGTERM for ${secs}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      ww_wait_gone "$pid" 5 || { echo "$(basename "$base"): pid $pid survives SIGKILL" >&2; return 1; }
    fi
    ww_wait_reaped "$pid" 3
  fi
  rm -f "$base/daemon.pid"
}

# pids of processes that belong to the engine dir $1: its path in their command line (daemons, shims,
# conmon, managed containerd) or a root filesystem mounted from it (container processes: their "/" in
# /proc/PID/mountinfo is an overlay whose lower/upper dirs are below $1; /proc/PID/root only shows "/").
# Never this script or its ancestors.
ww_lab_pids() {
  local base=$1 p pid
  local -A skip=()
  p=$$; while [ -n "$p" ] && [ "$p" != 0 ]; do skip[$p]=1; p=$(awk '/^PPid:/{print $2}' "/proc/$p/status" 2>/dev/null); done
  skip[$BASHPID]=1
  {
    grep -lsF -- "$base/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
    # first mountinfo line of each process (a container's own root mount comes first; reading one line
    # is cheap, whole tables are not): ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTIONS
    grep -sH -m1 '' /proc/[0-9]*/mountinfo 2>/dev/null | grep -F -- "$base/" |
      grep -E '^/proc/[0-9]+/mountinfo:[0-9]+ [0-9]+ [0-9]+:[0-9]+ [^ ]+ / ' | cut -d/ -f3
  } | sort -un | while read -r pid; do
    [ -n "${skip[$pid]:-}" ] && continue
    ww_pid_alive "$pid" && echo "$pid"
  done
  return 0
}

# SIGKILL everything that still belongs to $1 and wait for it to be gone
ww_sweep() {
  local base=$1 pids pid i
  for i in 1 2 3; do
    pids=$(ww_lab_pids "$base")
    [ -z "$pids" ] && return 0
    for pid in $pids; do
      echo "$(basename "$base"): killing leftover pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)" >&2
      kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in $pids; do ww_wait_gone "$pid" 5 || true; done
    for pid in $pids; do ww_wait_reaped "$pid" 2; done
  done
  pids=$(ww_lab_pids "$base")
  [ -z "$pids" ] || { echo "$(basename "$base"): processes left: $pids" >&2; return 1; }
}

# mount points at or below $1, deepest first
ww_mounts_under() {
  awk -v b="$1" '$5 == b || index($5, b "/") == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2-
}

ww_umount_all() {
  local base=$1 m i
  for i in 1 2 3; do
    local left=0
    while read -r m; do
      [ -n "$m" ] || continue
      left=1
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(ww_mounts_under "$base")
    [ $left = 0 ] && return 0
  done
  m=$(ww_mounts_under "$base")
  [ -z "$m" ] || { echo "$(basename "$base"): mounts left: $m" >&2; return 1; }
}

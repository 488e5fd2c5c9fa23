#!/usr/bin/env bash
# Build the test images as docker-archive tarballs from Debian's busybox-static, without any registry or
# running engine (`docker load`, `podman load` and `ctr images import` all accept them):
#   busybox.tar  busybox:lab  (Cmd ["sh"])
#   pause.tar    pause:lab    (Entrypoint ["/bin/sleep","2147483647"], no Cmd: the CRI sandbox image)
# Both have StopSignal SIGKILL: busybox as PID 1 ignores SIGTERM, so with the default signal every
# `docker stop` / `podman stop` / `ctr tasks kill`, and dockerd's restore after it was killed, would wait
# the full stop timeout (10 s) before killing anyway.
# Built once into ${WW_CACHE}/images/<busybox sha>/ (reproducible: fixed mtimes, sorted, numeric owners),
# then copied to $WW_LAB/images/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
ww_require_lab
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || ww_die "$BUSYBOX missing: install busybox-static (scripts/engines/install.sh)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then ww_die "$BUSYBOX is dynamically linked: install busybox-static"; fi
ARCH=$(dpkg --print-architecture)

# mk_image OUT REF ENTRYPOINT-JSON
mk_image() {
  local out=$1 ref=$2 ep=$3 cmd w a diff cfg
  # with an entrypoint, leave Cmd empty (a Cmd would be appended to the entrypoint as extra arguments)
  if [ "$ep" = null ]; then cmd='["sh"]'; else cmd=null; fi
  w=$(mktemp -d)
  mkdir -p "$w/rootfs/bin" "$w/rootfs/etc" "$w/rootfs/proc" "$w/rootfs/sys" "$w/rootfs/dev" "$w/rootfs/tmp" "$w/img"
  chmod 1777 "$w/rootfs/tmp"
  cp "$BUSYBOX" "$w/rootfs/bin/busybox"
  for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$w/rootfs/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$w/rootfs/etc/passwd"
  echo 'root:x:0:' > "$w/rootfs/etc/group"
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$w/rootfs" -cf "$w/img/layer.tar" .
  diff=$(sha256sum "$w/img/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":%s,"Cmd":%s,"StopSignal":"SIGKILL"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"whalewatcher scripts/engines/mk-images.sh"}]}' \
    "$ARCH" "$ep" "$cmd" "$diff" > "$w/img/config.json"
  cfg=$(sha256sum "$w/img/config.json" | cut -d' ' -f1)
  mv "$w/img/config.json" "$w/img/$cfg.json"
  mkdir "$w/img/$diff"
  mv "$w/img/layer.tar" "$w/img/$diff/layer.tar"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$ref" "$diff" > "$w/img/manifest.json"
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$w/img" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$w"
}

RECIPE=2   # bump when the image recipe changes, so cached tarballs are rebuilt
KEY=$(sha256sum "$BUSYBOX" | cut -c1-16)-$ARCH-r$RECIPE
DIR=$WW_CACHE/images/$KEY
if ! mkdir -p "$DIR" 2>/dev/null || [ ! -w "$DIR" ]; then DIR=$WW_LAB/images; mkdir -p "$DIR"; fi
built=()
[ -s "$DIR/busybox.tar" ] || { mk_image "$DIR/busybox.tar" busybox:lab null; built+=(busybox:lab); }
[ -s "$DIR/pause.tar" ] || { mk_image "$DIR/pause.tar" pause:lab '["/bin/sleep","2147483647"]'; built+=(pause:lab); }
mkdir -p "$WW_LAB/images"
[ "$DIR" = "$WW_LAB/images" ] || cp "$DIR/busybox.tar" "$DIR/pause.tar" "$WW_LAB/images/"
echo "mk-images.sh: $WW_LAB/images/{busybox,pause}.tar ready (${built[*]:+built ${built[*]}, }from $DIR)"

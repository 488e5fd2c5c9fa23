#!/bin/sh
# Regenerate from protos/ into a temporary folder and compare with the committed lib/gen/.
# Exit 0 when identical, 1 on any difference (shown as a diff), 2 when generation fails.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GEN=${1:-$ROOT/lib/gen}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ww-gen-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
sh "$ROOT/scripts/protos/generate.sh" "$TMP/gen" 2>"$TMP/log" || { cat "$TMP/log" >&2; echo "check-generated: generation failed" >&2; exit 2; }
if diff -ruN "$GEN" "$TMP/gen" >"$TMP/diff"; then
  echo "check-generated: $GEN is up to date ($(find "$GEN" -name '*.ts' | wc -l) files)"
else
  cat "$TMP/diff"
  echo "check-generated: $GEN differs from what scripts/protos/generate.sh produces from protos/; run it and commit the result" >&2
  exit 1
fi

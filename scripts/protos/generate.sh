#!/bin/sh
# Regenerate the TypeScript gRPC/protobuf code in lib/gen/ from protos/ with ts-proto.
#   scripts/protos/generate.sh [OUT_DIR]      (default lib/gen; OUT_DIR is emptied first)
# protoc is installed when missing (ensure-protoc.sh); the google/protobuf well-known types
# (Any, Timestamp, Empty) come from protoc's include dir and are emitted under OUT_DIR/google/.
# Options: grpc-js clients/servers; int64/uint64 as bigint (CRI nanosecond times exceed 2^53);
# Timestamp kept as {seconds: bigint, nanos} (useDate=false: no precision lost); readonly
# types; optional message fields; `.js` import suffixes for NodeNext ESM; no version
# banner, so the output only depends on protos/ and the ts-proto version (check-generated.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/lib/gen}
PROTOC=$(sh "$ROOT/scripts/protos/ensure-protoc.sh")
PLUGIN=$ROOT/node_modules/.bin/protoc-gen-ts_proto
[ -x "$PLUGIN" ] || { echo "generate.sh: $PLUGIN missing: run npm install" >&2; exit 1; }
OPTS=outputServices=grpc-js,env=node,forceLong=bigint,useDate=false,useReadonlyTypes=true,useOptionals=messages,esModuleInterop=true,importSuffix=.js,outputJsonMethods=false,annotateFilesWithVersion=false
mkdir -p "$OUT"
# keep OUT itself (others may hold it open), replace its contents
find "$OUT" -mindepth 1 -delete
cd "$ROOT/protos"
# shellcheck disable=SC2046 # file names have no spaces
"$PROTOC" -I . --plugin="protoc-gen-ts_proto=$PLUGIN" --ts_proto_out="$OUT" --ts_proto_opt="$OPTS" \
  $(find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
echo "generate.sh: $(find "$OUT" -name '*.ts' | wc -l) files in $OUT" >&2

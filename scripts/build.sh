#!/usr/bin/env bash
# Builds the deployment packages of every function (or of the functions named):
#
#   scripts/build.sh [NAME...]        (make build)
#
# For each functions/NAME/cmd it compiles one static linux/amd64 binary, the same one for every
# runtime (DESIGN §2), and packs it with infra/deploy/cmd/wxfn-pack into
#
#   build/aws/NAME.zip    "bootstrap" for Lambda (serverless.yml package.artifact)
#   build/scf/NAME.zip    "main" for SCF (console or API upload)
#   build/scf/NAME/main   the same, unzipped: infra/scf/NAME/serverless.yml points the scf CLI here
#
# Zips are written by Go's archive/zip with the exec bit and a fixed mtime, so no zip binary is
# needed and an unchanged binary packs to identical bytes. Needs only Go. BUILD_DIR overrides build/.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
out="${BUILD_DIR:-build}"

names=()
if [ $# -gt 0 ]; then
  names=("$@")
else
  for m in functions/*/cmd/main.go; do
    [ -e "$m" ] || continue
    n="${m#functions/}"
    names+=("${n%%/*}")
  done
fi
if [ ${#names[@]} -eq 0 ]; then
  echo "build: no functions/*/cmd/main.go found" >&2
  exit 1
fi

bindir="$out/linux_amd64"
mkdir -p "$bindir"
bins=()
for n in "${names[@]}"; do
  if [ ! -f "functions/$n/cmd/main.go" ]; then
    echo "build: no function $n (functions/$n/cmd/main.go is missing)" >&2
    exit 1
  fi
  echo "build: $n"
  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -tags lambda.norpc -trimpath -buildvcs=false \
    -ldflags='-s -w' -o "$bindir/$n" "./functions/$n/cmd"
  bins+=("$bindir/$n")
done

# The packer runs on this machine, whatever GOOS/GOARCH the caller's environment names.
GOOS= GOARCH= CGO_ENABLED=0 "$GO" run ./infra/deploy/cmd/wxfn-pack -out "$out" "${bins[@]}"

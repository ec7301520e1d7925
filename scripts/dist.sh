#!/usr/bin/env bash
# Builds static camrelay binaries for the boxes users run it on, with the
# version stamped in, and a SHA-256 checksums file.
set -euo pipefail
: "${VERSION:=dev}" "${COMMIT:=unknown}" "${DATE:=unknown}"
ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"
rm -rf dist && mkdir -p dist
for target in linux/amd64 linux/arm64 linux/arm/7 linux/arm/6; do
  IFS=/ read -r os arch arm <<<"$target"
  name="camrelay-$VERSION-$os-$arch${arm:+v$arm}"
  echo "building $name"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=$arm go build -trimpath -ldflags "$ldflags" -o "dist/$name" ./cmd/camrelay
done
(cd dist && sha256sum camrelay-* > SHA256SUMS)
echo "dist/: $(ls dist | tr '\n' ' ')"

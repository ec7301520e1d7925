#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine: Debian packages
# with apt-get (only those missing, so a second run costs nothing), and the
# Go modules through the module proxy.
set -euo pipefail

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v socat >/dev/null 2>&1 || need+=(socat)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
"$(dirname "$0")/ops-deps.sh"
go mod download

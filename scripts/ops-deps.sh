#!/usr/bin/env bash
# Installs what the operations tests (cmd/camrelay/ops_test.go) need on a
# Debian machine, with apt-get and only when missing, so a second run costs
# nothing: promtool (package prometheus) checks the metrics, the Prometheus
# config and rules and runs the alert unit tests; systemd-analyze (package
# systemd) verifies the unit file and scores its sandbox. scripts/deps.sh
# calls this.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # The prometheus package ships a server too; policy-rc.d exit 101 keeps
  # its maintainer scripts from starting it where init scripts would run.
  policy=/usr/sbin/policy-rc.d
  added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    added=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || status=$?
  [ -z "$added" ] || $sudo rm -f "$policy"
  exit $status
fi

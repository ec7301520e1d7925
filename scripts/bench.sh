#!/bin/sh
# bench.sh runs the camrelay benchmark from the repository root and keeps
# the report. Arguments go to camrelay-bench (see -h), e.g.
#   scripts/bench.sh -quick
#   scripts/bench.sh -n 1,1000 -transports ws -out /tmp/report.md
# A full default run takes about 5 minutes on a 2-core machine.
set -eu
cd "$(dirname "$0")/.."
exec go run ./cmd/camrelay-bench "$@"

#!/usr/bin/env bash
# make bench: every speed and size budget, measured (never asserted in tests), each with its
# baseline measured in the same run. Output is plain text meant for pasting into notes.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s ====\n' "$1"; }

section "Go benchmarks (adapter + routing overhead; notification verify+decrypt on one core; bill parsing)"
go test -run '^$' -bench 'Adapter' -benchmem ./shared/runtime/...
go test -run '^$' -bench 'ParseNotification' -benchmem -cpu 1 ./shared/wxpay/
go test -run '^$' -bench 'Read' -benchmem ./functions/reconcile/bill/

section "Cold start: exec → first response under a fake Lambda Runtime API, vs a hello-world aws-lambda-go binary"
go run ./scripts/bench/coldstart -n "${COLDSTART_RUNS:-30}" ./functions/...

section "End to end on the local stack"
go run ./scripts/bench/e2e -n "${E2E_REQUESTS:-200}"

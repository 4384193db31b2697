#!/usr/bin/env bash
# ipv6_faults.sh - the fault profile (engine_faults.sh: 2% loss, 25% reorder, 2% dup, 0.5% corrupt,
# 1 +- 0.5 ms, both directions) with the transfers over IPv6: SHA-256 equal both ways, no stall.
cd "$(dirname "$0")/../.."
ENGINE_FAULTS_IPV6=1 ENGINE_FAULTS_NET=${ENGINE_FAULTS_NET:-10.86} exec bash tests/integration/engine_faults.sh

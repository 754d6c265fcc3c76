#!/usr/bin/env bash
# test.sh — the project's one test command (README, and .ci/run call it).
# Installs the real peers the tests talk to when they are missing (Debian packages),
# then vets, runs every test with the race detector (and the memory tests again without it),
# and runs each fuzz target briefly.
# Env: FUZZTIME (default 100000x executions per target; 0 skips fuzzing), GOFLAGS as usual.
# A count, not a duration: with a duration, go1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when the time runs out mid-execution on a loaded machine (golang/go#75804,
# fixed in Go 1.27); a count has no deadline to race.
set -euo pipefail
cd "$(dirname "$0")"
# The server as it ships: built so that what its handshakes leave in memory is erased (runtime/secret,
# server/erase_on.go). Without it the kTLS memory search in the guest can find key material.
export GOEXPERIMENT=runtimesecret

need=()
for pair in curl:curl openssl:openssl gnutls-cli:gnutls-bin python3:python3 wrk:wrk \
            qemu-system-x86_64:qemu-system-x86 xz:xz-utils zstd:zstd chromium:chromium tcpdump:tcpdump strace:strace \
            systemd-socket-activate:systemd nghttp:nghttp2-client h2load:nghttp2-client \
            haproxy:haproxy promtool:prometheus; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
[ -e /usr/share/doc/busybox-static ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

go mod download
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...
go vet -tags vmguest ./kernel/... ./server/...   # the guest-only kTLS tests
go test -race -count=1 -timeout 28m ./...   # the QEMU guest suites run on two kernels
# The race detector shadows memory, so the resident-memory checks (per idle
# connection, given back after a wave) only count without it: run them again.
go test -count=1 -timeout 10m -run 'Memory' ./...

FUZZTIME=${FUZZTIME:-100000x}
if [ "$FUZZTIME" != 0 ]; then
  # Every Fuzz* target in the module, a few seconds each.
  grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
    pkg=./$(dirname "${f#./}")
    for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
      echo "fuzz $pkg $t ($FUZZTIME)"
      go test -run='^$' -fuzz="^$t\$" -fuzztime="$FUZZTIME" "$pkg"
    done
  done
fi
echo "test.sh: all passed"

#!/usr/bin/env bash
# bench/ktls.sh — lwango's kernel TLS against its user-space TLS: the same file,
# the same cipher suite, the same client, one server at a time pinned to CPU 0
# (curl pinned to CPU 1). Prints download throughput and the server's CPU time
# per GiB sent for each path, and the ratio (goal: kTLS >= 2x user space).
#
# It needs a host kernel with kernel TLS (CONFIG_TLS and the tls module). On a
# host without it, it says so and exits with status 2 (-U still measures the
# user-space path alone, to check the rig).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/ktls.sh [-s MIB] [-n COUNT] [-c SUITE] [-U] [-k]
  -s MIB    size of the served file (default 1024)
  -n COUNT  downloads per path (default 5)
  -c SUITE  TLS 1.3 suite both paths use (default TLS_AES_128_GCM_SHA256;
            also TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256)
  -U        user space only (a host without kTLS; checks the rig)
  -k        keep the temporary directory
EOF
}

size_mib=1024
count=5
suite=TLS_AES_128_GCM_SHA256
user_only=0
keep=0
while getopts s:n:c:Ukh option; do
	case $option in
	s) size_mib=$OPTARG ;;
	n) count=$OPTARG ;;
	c) suite=$OPTARG ;;
	U) user_only=1 ;;
	k) keep=1 ;;
	*) usage; exit 2 ;;
	esac
done
case $suite in
TLS_AES_128_GCM_SHA256) curl_suite=TLS_AES_128_GCM_SHA256 ;;
TLS_AES_256_GCM_SHA384) curl_suite=TLS_AES_256_GCM_SHA384 ;;
TLS_CHACHA20_POLY1305_SHA256) curl_suite=TLS_CHACHA20_POLY1305_SHA256 ;;
*) echo "ktls.sh: unknown suite $suite" >&2; exit 2 ;;
esac
for tool in go curl taskset; do
	command -v $tool >/dev/null || { echo "ktls.sh: $tool is needed" >&2; exit 2; }
done

# Does this kernel have kernel TLS? The tls ULP must be registered (loading
# the module first when we may).
ulp_file=/proc/sys/net/ipv4/tcp_available_ulp
[ "$(id -u)" = 0 ] && modprobe tls 2>/dev/null || true
ulps=$(cat $ulp_file 2>/dev/null || echo "unreadable")
have_ktls=0
case " $ulps " in *" tls "*) have_ktls=1 ;; esac
if [ $have_ktls = 0 ]; then
	config=/boot/config-$(uname -r)
	detail="tcp_available_ulp: \"$ulps\""
	if [ -r "$config" ]; then
		detail="$detail; $(grep -E '^(# )?CONFIG_TLS[= ]' "$config" | head -1)"
	fi
	echo "ktls.sh: this host has no kernel TLS: the tls ULP is not available (kernel $(uname -r); $detail)."
	echo "ktls.sh: load it (modprobe tls) or run on a kernel built with CONFIG_TLS; lwango serves HTTPS in user space here."
	if [ $user_only = 0 ]; then
		exit 2
	fi
fi

cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/lwango-ktls-bench.XXXXXX)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	if [ $keep = 1 ]; then echo "ktls.sh: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

go build -o "$tmp/lwango" .
mkdir "$tmp/www"
head -c $((size_mib << 20)) /dev/urandom >"$tmp/www/file.bin"
hz=$(getconf CLK_TCK)

# cpu_ticks PID: user + system time of the process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure MODE PORT: serves the file with ktls = MODE and downloads it COUNT
# times; sets rate (MiB/s) and cpu (server CPU seconds per GiB).
measure() {
	local mode=$1 port=$2 conf=$tmp/$1.conf log=$tmp/$1.log
	cat >"$conf" <<EOF
listener = "127.0.0.1:$((port + 1))"
threads = 1
quiet = true
[tls_listener]
address = "127.0.0.1:$port"
ktls = "$mode"
min_version = "1.3"
ciphers = ["$suite"]
[[site.serve_files]]
prefix = "/"
path = "$tmp/www"
EOF
	taskset -c 0 "$tmp/lwango" -c "$conf" 2>"$log" &
	server_pid=$!
	for _ in $(seq 100); do
		curl -sk -o /dev/null "https://127.0.0.1:$port/" 2>/dev/null && break
		kill -0 $server_pid 2>/dev/null || { echo "ktls.sh: lwango (ktls = $mode) did not start:" >&2; cat "$log" >&2; exit 1; }
		sleep 0.1
	done
	grep -m1 -o 'msg="TLS records.*' "$log" | sed "s/^/ktls.sh: ktls = $mode: /" >&2
	local before_stat=0 after_stat=0
	[ -r /proc/net/tls_stat ] && before_stat=$(awk '$1 == "TlsTxSw" {print $2}' /proc/net/tls_stat)
	local t0 c0 t1 c1
	c0=$(cpu_ticks $server_pid)
	t0=$(date +%s.%N)
	local got
	for _ in $(seq "$count"); do
		got=$(taskset -c 1 curl -sSk --fail --tlsv1.3 --tls13-ciphers "$curl_suite" -o /dev/null \
			-w '%{size_download}' "https://127.0.0.1:$port/file.bin") || got="curl failed"
		if [ "$got" != $((size_mib << 20)) ]; then
			echo "ktls.sh: ktls = $mode: download ended after $got bytes" >&2
			exit 1
		fi
	done
	t1=$(date +%s.%N)
	c1=$(cpu_ticks $server_pid)
	[ -r /proc/net/tls_stat ] && after_stat=$(awk '$1 == "TlsTxSw" {print $2}' /proc/net/tls_stat)
	kill $server_pid
	wait $server_pid 2>/dev/null || true
	server_pid=
	if [ "$mode" = require ] && [ "$after_stat" -le "$before_stat" ]; then
		echo "ktls.sh: ktls = require but /proc/net/tls_stat TlsTxSw did not move" >&2
		exit 1
	fi
	read -r rate cpu < <(awk -v mib=$((size_mib * count)) -v t0="$t0" -v t1="$t1" -v c=$((c1 - c0)) -v hz="$hz" \
		'BEGIN { printf "%.0f %.3f\n", mib / (t1 - t0), (c / hz) / (mib / 1024) }')
}

echo "ktls.sh: $count downloads of a $size_mib MiB file over TLS 1.3 $suite, server on CPU 0, curl on CPU 1"
measure off 18443
user_rate=$rate user_cpu=$cpu
printf '%-24s %10s MiB/s %10s s CPU/GiB\n' "user space (ktls=off)" "$user_rate" "$user_cpu"
if [ $have_ktls = 0 ]; then
	echo "ktls.sh: no kernel TLS on this host: only the user-space path was measured"
	exit 2
fi
measure require 18453
kernel_rate=$rate kernel_cpu=$cpu
printf '%-24s %10s MiB/s %10s s CPU/GiB\n' "kernel (ktls=require)" "$kernel_rate" "$kernel_cpu"
awk -v u="$user_cpu" -v k="$kernel_cpu" -v ur="$user_rate" -v kr="$kernel_rate" 'BEGIN {
	ratio = (k > 0) ? u / k : 0
	printf "server CPU per GiB, user space / kernel: %.2fx (goal >= 2x: %s); throughput kernel / user space: %.2fx\n",
		ratio, (ratio >= 2 ? "met" : "NOT met"), kr / ur
}'

#!/usr/bin/env bash
# bench/run.sh — lwango's benchmark rig.
#
# Builds lwango and a Go net/http peer, writes nginx (and, with LWAN=path, Lwan)
# configs, starts every server at once, each pinned to CPU 0, and measures them
# in turn within every round, wrk pinned to CPU 1. The headline is the server's
# CPU time per request (utime+stime from /proc/PID/stat), median of the rounds;
# req/s follow. See bench/README.md for what each scenario means.
#
# Exit status: 0 only if every requested measurement produced a number.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [options] [scenario ...]

scenarios (default: every one but memory):
  hello          keep-alive GET /hello
  static         keep-alive GET of a 1 KiB static file
  large          keep-alive GET of a 1 MiB static file
  close          GET /hello with "Connection: close"
  tls-hello      keep-alive GET /hello over TLS 1.3 (user-space records)
  tls-handshake  one full TLS 1.3 handshake (+ GET /hello) per connection
  memory         resident memory per idle keep-alive conn   bytes
  h2-hello       HTTP/2 GET /hello with prior knowledge, h2load -c100 -m10
  h2-tls-hello   the same over TLS 1.3 (ALPN h2)
  h2-page        a page of 50 small files over h2c, h2load -c100 -m50
  h2-file        the 1 MiB file over h2c, h2load -c16 -m1
  all            every scenario above
Each wrk scenario reports server CPU µs per request (the headline) and req/s.

environment:
  LWAN=PATH    also measure Lwan (the lwan binary built from its sources;
               cleartext scenarios only)

options:
  -d DURATION  wrk duration per measurement (default 10s)
  -w DURATION  wrk warm-up before each measurement, 0 to skip (default 1s)
  -c N         wrk connections (default 64)
  -r N         rounds; each round measures every server once per scenario, in
               an order rotated from round to round; medians are reported
               (default 5)
  -n N         idle connections for the memory scenario (default 10000)
  -s LIST      servers, comma-separated (default lwango,nginx,nethttp, and
               lwan when LWAN is set)
  -g GROUP     TLS key exchange group, IANA name (default x25519)
  -q SECONDS   before each measurement wait up to SECONDS for the CPUs to be
               quiet (other processes under 5 % user time), 0 not to wait
               (default 30); figures taken under load are flagged either way
  -P N         GOMAXPROCS for the net/http peer (default: unset; the runtime
               then follows the one-CPU affinity mask, i.e. 1)
  -p PORT      first loopback port: PORT..PORT+3 cleartext (lwango, net/http,
               nginx, lwan), PORT+10..PORT+12 TLS (default 29100); keep them
               out of the ephemeral range (net.ipv4.ip_local_port_range)
  -k           keep the temporary directory (configs, logs, wrk output)
  -h           this help
EOF
}

duration=10s
warmup=1s
connections=64
repeats=5
idle_connections=10000
servers=lwango,nginx,nethttp
[[ -n ${LWAN:-} ]] && servers+=,lwan
tls_group=x25519
# Go's crypto/tls cannot be told which TLS 1.3 suite to use; on hardware with
# AES instructions it picks this one, so every server is held to it.
tls_suite=TLS_AES_128_GCM_SHA256
nethttp_gomaxprocs=
keep_temp=0
quiet_wait=30
base_port=29100
while getopts d:w:c:r:n:s:g:q:p:P:kh option; do
	case $option in
	d) duration=$OPTARG ;;
	w) warmup=$OPTARG ;;
	c) connections=$OPTARG ;;
	r) repeats=$OPTARG ;;
	n) idle_connections=$OPTARG ;;
	s) servers=$OPTARG ;;
	g) tls_group=$OPTARG ;;
	q) quiet_wait=$OPTARG ;;
	p) base_port=$OPTARG ;;
	P) nethttp_gomaxprocs=$OPTARG ;;
	k) keep_temp=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

all_scenarios=(hello static large close tls-hello tls-handshake memory h2-hello h2-tls-hello h2-page h2-file)
scenarios=("$@")
[[ ${#scenarios[@]} -eq 0 ]] && scenarios=(hello static large close tls-hello tls-handshake)
[[ " ${scenarios[*]} " == *" all "* ]] && scenarios=("${all_scenarios[@]}")
for scenario in "${scenarios[@]}"; do
	[[ " ${all_scenarios[*]} " == *" $scenario "* ]] || { echo "run.sh: unknown scenario '$scenario'" >&2; usage >&2; exit 2; }
done
IFS=, read -r -a server_list <<<"$servers"
for server in "${server_list[@]}"; do
	case $server in lwango | nethttp | nginx) ;; lwan) [[ -x ${LWAN:-} ]] || { echo "run.sh: server lwan needs LWAN=path to the lwan binary" >&2; exit 2; } ;; *) echo "run.sh: unknown server '$server'" >&2; exit 2 ;; esac
done
for number in "$repeats" "$connections" "$idle_connections" "$base_port"; do
	[[ $number =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: '$number' is not a positive integer" >&2; exit 2; }
done
read -r ephemeral_low ephemeral_high </proc/sys/net/ipv4/ip_local_port_range
if ((base_port + 12 >= ephemeral_low && base_port <= ephemeral_high)); then
	echo "run.sh: ports $base_port..$((base_port + 12)) overlap the ephemeral range $ephemeral_low..$ephemeral_high" >&2
	exit 2
fi
[[ $quiet_wait =~ ^[0-9]+$ ]] || { echo "run.sh: -q needs a number of seconds" >&2; exit 2; }

die() { echo "run.sh: $*" >&2; exit 1; }
# need COMMAND [PACKAGE] makes sure COMMAND exists, installing PACKAGE with
# apt-get when running as root.
need() {
	command -v "$1" >/dev/null && return 0
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "installing ${2:-$1} ..."
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${2:-$1}" >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${2:-$1}" >/dev/null; } ||
			die "could not install ${2:-$1}"
	fi
	command -v "$1" >/dev/null || die "$1 not found (apt-get install -y ${2:-$1})"
}
command -v go >/dev/null || die "go not found (Go 1.26 is needed to build lwango and the peers)"
need wrk
[[ ",$servers," == *,nginx,* ]] && need nginx
need taskset util-linux
need curl
need openssl
[[ $(nproc) -ge 2 ]] || die "needs at least 2 CPUs (server on CPU 0, wrk on CPU 1)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/lwango-bench.XXXXXX)
chmod 755 "$work" # nginx workers may run as nobody and must read the static dir
declare -A pid=() # running servers
server_pid=       # the server being measured
start_error=

cleanup() {
	local name
	for name in "${!pid[@]}"; do stop_server "$name"; done
	if [[ $keep_temp == 1 ]]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the site

hello_body='Hello, World!'
www=$work/www
mkdir -p "$www"
chmod 755 "$www"
# A 1 KiB text file: the "small static file" every server serves; a 1 MiB
# one for the large-file scenario.
(set +o pipefail; yes 'lwango benchmark static file, 1 KiB of text.' | head -c 1024 >"$www/small.txt")
(set +o pipefail; yes 'lwango benchmark static file, 1 MiB of text.' | head -c 1048576 >"$www/large.bin")
# Lwan has no handler answering a fixed body; it serves /hello from this file
# (the other servers answer /hello from a handler before any file lookup).
printf '%s' "$hello_body" >"$www/hello"
# The h2-page scenario's page: 50 files of 2 KiB.
for i in $(seq 50); do (set +o pipefail; yes "image $i" | head -c 2048 >"$www/img$i.bin"); done
echo '<!doctype html><title>bench</title>' >"$www/index.html"
chmod 644 "$www"/*

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || die "openssl could not make a certificate"
chmod 644 "$work/key.pem"

# ------------------------------------------------------------------ builds

declare -A build_error=()
echo "building in $work ..."
if ! (cd "$repo" && GOEXPERIMENT=runtimesecret go build -o "$work/lwango" .) >"$work/lwango-build.log" 2>&1; then
	build_error[lwango]="build failed: $(grep -v '^#' "$work/lwango-build.log" | head -1)"
fi
(cd "$repo" && go build -o "$work/nethttp" ./bench/peers/nethttp) || die "cannot build the net/http peer"
(cd "$repo" && go build -o "$work/idlemem" ./bench/idlemem) || die "cannot build bench/idlemem"

# ----------------------------------------------------------------- configs

declare -A plain_port=([lwango]=$base_port [nethttp]=$((base_port + 1)) [nginx]=$((base_port + 2)) [lwan]=$((base_port + 3)))
declare -A tls_port=([lwango]=$((base_port + 10)) [nethttp]=$((base_port + 11)) [nginx]=$((base_port + 12)))

# nginx_group maps an IANA group name onto OpenSSL's spelling.
nginx_group() {
	case ${1,,} in
	x25519) echo X25519 ;;
	secp256r1) echo prime256v1 ;;
	secp384r1) echo secp384r1 ;;
	x25519mlkem768) echo X25519MLKEM768 ;;
	*) echo "$1" ;;
	esac
}

# write_lwango_config MODE writes lwango's TOML for MODE (plain or tls).
write_lwango_config() {
	local file=$work/lwango-$1.toml
	{
		echo "listener = \"127.0.0.1:${plain_port[lwango]}\""
		echo 'quiet = true'
		echo 'threads = 1'
		echo 'keep_alive_timeout = 120'
		[[ $1 == h2 ]] && echo 'h2c = true'
		if [[ $1 == tls || $1 == h2 ]]; then
			echo '[tls_listener]'
			echo "address = \"127.0.0.1:${tls_port[lwango]}\""
			echo "cert = \"$work/cert.pem\""
			echo "key = \"$work/key.pem\""
			echo "groups = [\"$tls_group\"]"
			echo 'min_version = "1.3"'
			echo "ciphers = [\"$tls_suite\"]"
			echo 'session_tickets = 0' # full handshakes only, like the peers
		fi
		echo '[[site.serve_files]]'
		echo 'prefix = "/"'
		echo "path = \"$www\""
		echo '[[site.hello]]'
		echo 'prefix = "/hello"'
		# Configured as an operator would (issue 16: it must not slow hello).
		echo '[[site.metrics]]'
		echo 'prefix = "/metrics"'
	} >"$file"
	echo "$file"
}

# write_nginx_config MODE writes nginx.conf for MODE (plain, tls, or h2:
# HTTP/2 on both listeners, h2c with prior knowledge on the cleartext one).
# Over TLS nginx resumes nothing (tickets and session cache off) and, at its
# best, sends no NewSessionTicket either: without NumTickets 0, OpenSSL sends
# two after every TLS 1.3 handshake, which nobody can resume from (5 % of
# nginx's CPU per handshake under load).
write_nginx_config() {
	local prefix=$work/nginx-$1 listen h2=
	mkdir -p "$prefix/logs"
	[[ $1 == h2 ]] && h2=' http2'
	if [[ $1 == tls || $1 == h2 ]]; then
		listen="listen 127.0.0.1:${tls_port[nginx]} ssl$h2;
		ssl_certificate $work/cert.pem;
		ssl_certificate_key $work/key.pem;
		ssl_protocols TLSv1.3;
		ssl_conf_command Ciphersuites $tls_suite;
		ssl_ecdh_curve $(nginx_group "$tls_group");
		ssl_session_tickets off;
		ssl_session_cache off;
		ssl_conf_command NumTickets 0;"
	fi
	if [[ $1 != tls ]]; then
		listen="listen 127.0.0.1:${plain_port[nginx]}$h2;
		${listen:-}"
	fi
	# nginx at its best for each file size: open_file_cache keeps the
	# descriptors and stat results; small files are read and sent with the
	# headers in one writev (sendfile off), large ones go by sendfile with
	# TCP_CORK (tcp_nopush) so the headers share the first segment.
	cat >"$prefix/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events {
	worker_connections 19000;
	use epoll;
}
http {
	access_log off;
	server_tokens off;
	sendfile on;
	open_file_cache max=1000 inactive=60s;
	open_file_cache_valid 60s;
	keepalive_requests 100000000;
	keepalive_timeout 120s;
	types {
		text/plain txt;
		text/html html;
	}
	default_type application/octet-stream;
	client_body_temp_path $prefix/client_body;
	proxy_temp_path $prefix/proxy;
	fastcgi_temp_path $prefix/fastcgi;
	uwsgi_temp_path $prefix/uwsgi;
	scgi_temp_path $prefix/scgi;
	server {
		$listen
		location = /hello {
			default_type text/plain;
			return 200 "$hello_body";
		}
		location / {
			root $www;
		}
		location = /small.txt {
			root $www;
			sendfile off;
		}
		location = /large.bin {
			root $www;
			sendfile on;
			tcp_nopush on;
		}
	}
}
EOF
	echo "$prefix"
}

# write_lwan_config writes Lwan's configuration (cleartext only).
write_lwan_config() {
	local file=$work/lwan.conf
	cat >"$file" <<EOF
keep_alive_timeout = 120
quiet = true
threads = 1
listener 127.0.0.1:${plain_port[lwan]}
site {
	serve_files / {
		path = $www
	}
}
EOF
	echo "$file"
}

# ------------------------------------------------------ server lifecycle

# port_busy PORT succeeds if something already listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server NAME MODE starts NAME pinned to CPU 0 in MODE (plain, tls) and
# checks that it serves the site. On failure it sets start_error and fails.
start_server() {
	local name=$1 mode=$2 log=$work/$1-$2.log port=${plain_port[$1]}
	[[ $mode == tls ]] && port=${tls_port[$1]}
	if [[ -n ${build_error[$name]:-} ]]; then
		start_error="${build_error[$name]}"
		return 1
	fi
	for busy in "$port" "${plain_port[$name]}"; do
		if port_busy "$busy"; then
			start_error="port $busy is already in use"
			return 1
		fi
	done
	case $name in
	lwango)
		taskset -c 0 "$work/lwango" -c "$(write_lwango_config "$mode")" >"$log" 2>&1 &
		;;
	nethttp)
		local address=(-addr "127.0.0.1:$port")
		[[ $mode == tls ]] && address=(-tls-addr "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" -groups "$tls_group")
		[[ $mode == h2 ]] && address+=(-tls-addr "127.0.0.1:${tls_port[nethttp]}" -cert "$work/cert.pem" -key "$work/key.pem" -groups "$tls_group" -h2)
		env ${nethttp_gomaxprocs:+GOMAXPROCS=$nethttp_gomaxprocs} \
			taskset -c 0 "$work/nethttp" -root "$www" "${address[@]}" >"$log" 2>&1 &
		;;
	nginx)
		local prefix
		prefix=$(write_nginx_config "$mode")
		taskset -c 0 nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" >"$log" 2>&1 &
		log=$prefix/logs/error.log
		;;
	lwan)
		taskset -c 0 "$LWAN" -c "$(write_lwan_config)" >"$log" 2>&1 &
		;;
	esac
	local server_pid=$!
	pid[$name]=$server_pid

	local scheme=http curl_tls=()
	[[ $mode == tls ]] && scheme=https curl_tls=(-k --tlsv1.3)
	[[ $mode == h2 ]] && curl_tls=(--http2-prior-knowledge)
	local url=$scheme://127.0.0.1:$port
	for _ in $(seq 100); do
		kill -0 "$server_pid" 2>/dev/null || break
		curl -s -o /dev/null "${curl_tls[@]}" "$url/hello" && break
		sleep 0.1
	done
	if ! kill -0 "$server_pid" 2>/dev/null; then
		wait "$server_pid" 2>/dev/null || true
		unset "pid[$name]"
		start_error="exited at start: $(tail -n 1 "$log" 2>/dev/null)"
		[[ $name == lwango && $mode == tls ]] && start_error="no TLS: exits when given a [tls_listener]: ${start_error#exited at start: }"
		return 1
	fi
	local body
	if ! body=$(curl -sf "${curl_tls[@]}" "$url/hello"); then
		if [[ $mode == tls ]] && curl -sf -o /dev/null "http://127.0.0.1:${plain_port[$name]}/hello"; then
			start_error="no TLS: serves cleartext but nothing answers TLS 1.3 on :$port"
			local said
			said=$(grep -i 'tls' "$log" | tail -n 1 || true)
			[[ -n $said ]] && start_error+="; it logged: $said"
		else
			start_error="not answering $url/hello: $(tail -n 1 "$log" 2>/dev/null)"
		fi
		stop_server "$name"
		return 1
	fi
	if [[ $body != "$hello_body" ]]; then
		start_error="/hello answered '${body:0:40}', not '$hello_body'"
		stop_server "$name"
		return 1
	fi
	local file
	for file in small.txt large.bin; do
		if ! curl -sf "${curl_tls[@]}" -o "$work/fetched" "$url/$file" || ! cmp -s "$work/fetched" "$www/$file"; then
			start_error="/$file is not served byte for byte"
			stop_server "$name"
			return 1
		fi
	done
	local negotiated
	if [[ $mode == tls ]]; then
		negotiated=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null | grep -m1 -E '^(New|Reused),' || true)
		if [[ $negotiated != *"TLSv1.3, Cipher is $tls_suite"* ]]; then
			start_error="negotiated '${negotiated:-nothing}', not TLSv1.3 with $tls_suite"
			stop_server "$name"
			return 1
		fi
	fi
	return 0
}

# stop_server NAME stops the server NAME (SIGTERM, then SIGKILL after 5 s).
stop_server() {
	local server_pid=${pid[$1]:-}
	[[ -n $server_pid ]] || return 0
	kill -TERM "$server_pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	unset "pid[$1]"
}

# ---------------------------------------------------------------- probes

# tree_pids PID prints PID and all its descendants (nginx: master + worker).
tree_pids() {
	local pids=("$1") i=0 children
	while ((i < ${#pids[@]})); do
		for children in /proc/"${pids[i]}"/task/*/children; do
			[[ -r $children ]] && pids+=($(<"$children"))
		done
		i=$((i + 1))
	done
	echo "${pids[@]}"
}

# cpu_ticks PID [user] prints utime+stime (or utime alone), in clock ticks, of
# PID and its descendants.
cpu_ticks() {
	local total=0 pid stat fields
	for pid in $(tree_pids "$1"); do
		stat=$(<"/proc/$pid/stat") || continue
		read -r -a fields <<<"${stat##*) }" # fields[0] is field 3 (state)
		total=$((total + fields[11]))
		[[ ${2:-} == user ]] || total=$((total + fields[12]))
	done
	echo "$total"
}

# pinned_user_ticks prints the user+nice ticks CPU 0 and CPU 1 have run. Only
# user time is compared: the kernel charges much of the server's loopback
# networking to softirq time on the CPU but to system time in the process.
pinned_user_ticks() { awk '$1 == "cpu0" || $1 == "cpu1" { ticks += $2 + $3 } END { print ticks }' /proc/stat; }

# tcp_counters prints the kernel's count of SYNs refused by a TIME_WAIT
# socket (PAWS) and of SYN retransmissions, system-wide.
tcp_counters() {
	awk '$1 == "TcpExt:" { if (!names) { for (i = 2; i <= NF; i++) name[i] = $i; names = 1 }
		else for (i = 2; i <= NF; i++) value[name[i]] = $i }
		END { print value["PAWSTimewait"] + 0, value["TCPSynRetrans"] + 0 }' /proc/net/netstat
}

# save_children_times records, in FILE, the CPU times of the calling shell's
# reaped children. It must not run in a command substitution, whose subshell
# has children of its own.
save_children_times() { times >"$1"; }

# children_user_seconds FILE prints the children's user time saved in FILE.
children_user_seconds() {
	awk 'NR == 2 { sub(/s$/, "", $1); split($1, part, "m"); print part[1] * 60 + part[2] }' "$1"
}

clock_ticks=$(getconf CLK_TCK)

# wrk_run URL [wrk args] runs wrk on CPU 1 and sets wrk_rps, wrk_requests,
# wrk_server_us (the server's CPU time per request, µs) and wrk_foreign (the
# share, %, of the two CPUs' time that processes other than the server and wrk
# spent in user mode meanwhile). It fails, printing why, on socket errors,
# non-2xx/3xx responses, no requests or responses shorter than expected_body.
wrk_run() {
	local url=$1 out=$work/wrk.out
	shift
	local cpus_before server_user_before server_total_before tcp_before wrk_before start
	local cpus_after server_user_after server_total_after tcp_after wrk_after end
	load_begin
	if ! taskset -c 1 wrk -t1 -c"$connections" -d"$duration" "$@" "$url" >"$out" 2>&1; then
		echo "wrk failed: $(tail -n 1 "$out")"
		return 1
	fi
	load_end
	cat "$out" >>"$work/wrk-all.log"
	local errors non2xx
	errors=$(grep -E '^ *Socket errors:' "$out" || true)
	non2xx=$(grep -E '^ *Non-2xx or 3xx responses:' "$out" || true)
	wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	wrk_requests=$(awk '/requests in/ {print $1}' "$out")
	if [[ -n $errors ]]; then
		local paws retransmits paws_before retransmits_before
		read -r paws retransmits <<<"$tcp_after"
		read -r paws_before retransmits_before <<<"$tcp_before"
		echo "wrk reported ${errors# *}; meanwhile the kernel refused $((paws - paws_before)) SYNs on TIME_WAIT sockets (PAWS) and retransmitted $((retransmits - retransmits_before)) SYNs"
		return 1
	fi
	if [[ -n $non2xx ]]; then
		echo "wrk reported ${non2xx# *}"
		return 1
	fi
	if [[ -z $wrk_rps || -z $wrk_requests || $wrk_requests == 0 ]]; then
		echo "wrk completed no requests"
		return 1
	fi
	server_us_per "$wrk_requests"
	local per_response
	per_response=$(awk '/requests in/ {
		amount = $5; unit = amount; sub(/[A-Z]+,?$/, "", amount); gsub(/[0-9.,]/, "", unit)
		scale = unit == "KB" ? 1024 : unit == "MB" ? 1048576 : unit == "GB" ? 1073741824 : 1
		printf "%d", amount * scale / $1 }' "$out")
	if ((per_response < expected_body)); then
		echo "wrk read $per_response bytes per response, less than the $expected_body-byte body"
		return 1
	fi
}

# load_begin and load_end bracket a load generator's run (in the caller's
# locals: cpus_*, server_*, tcp_*, wrk_*, start, end); load_end sets
# wrk_foreign, the share (%) of the two CPUs' user time that processes other
# than the server and the load generator spent meanwhile.
load_begin() {
	cpus_before=$(pinned_user_ticks)
	server_user_before=$(cpu_ticks "$server_pid" user)
	server_total_before=$(cpu_ticks "$server_pid")
	tcp_before=$(tcp_counters)
	save_children_times "$work/times.before"
	start=$(date +%s.%N)
}

load_end() {
	end=$(date +%s.%N)
	tcp_after=$(tcp_counters)
	save_children_times "$work/times.after"
	wrk_before=$(children_user_seconds "$work/times.before")
	wrk_after=$(children_user_seconds "$work/times.after")
	server_total_after=$(cpu_ticks "$server_pid")
	server_user_after=$(cpu_ticks "$server_pid" user)
	cpus_after=$(pinned_user_ticks)
	wrk_foreign=$(awk -v cpus=$((cpus_after - cpus_before)) -v server=$((server_user_after - server_user_before)) \
		-v hz="$clock_ticks" -v wrk="$wrk_after - $wrk_before" -v wall="$end - $start" \
		'BEGIN { split(wrk, w, " - "); split(wall, t, " - ")
			other = (cpus - server) / hz - (w[1] - w[2]); if (other < 0) other = 0
			printf "%.0f", 100 * other / (2 * (t[1] - t[2])) }')
}

# server_us_per N sets wrk_server_us, the server's CPU µs per request, for N
# requests since load_begin.
server_us_per() {
	wrk_server_us=$(awk -v ticks=$((server_total_after - server_total_before)) -v hz="$clock_ticks" -v n="$1" \
		'BEGIN { printf "%.2f", ticks * 1e6 / hz / n }')
}

# h2load_run [h2load args] URL|-i FILE runs h2load (one thread, its own
# warm-up) on CPU 1 for the duration and sets wrk_rps, wrk_foreign and
# wrk_server_us like wrk_run. It fails unless every request succeeded
# without a 4xx or 5xx (timed runs also count the statuses of responses
# that arrive after the end).
h2load_run() {
	local out=$work/h2load.out total succeeded bad
	local cpus_before server_user_before server_total_before tcp_before wrk_before start
	local cpus_after server_user_after server_total_after tcp_after wrk_after end
	load_begin
	if ! taskset -c 1 h2load -t1 -D"${duration%s}" --warm-up-time="${warmup%s}" "$@" >"$out" 2>&1; then
		echo "h2load failed: $(tail -n 1 "$out")"
		return 1
	fi
	load_end
	cat "$out" >>"$work/h2load-all.log"
	read -r total succeeded < <(awk '/^requests:/ { print $2, $8 }' "$out")
	bad=$(awk '/^status codes:/ { print $7 + $9 }' "$out")
	wrk_rps=$(awk '/^finished in/ { print $4 }' "$out")
	if [[ -z $total || $total == 0 || $succeeded != "$total" || $bad != 0 ]]; then
		echo "h2load: $(grep -E '^(requests|status codes):' "$out" | tr '\n' ' ')"
		return 1
	fi
	server_us_per "$total"
}

# warm_up URL [wrk args] runs wrk for the warm-up time, ignoring the result.
warm_up() {
	[[ $warmup == 0 || $warmup == 0s ]] && return 0
	local url=$1
	shift
	taskset -c 1 wrk -t1 -c"$connections" -d"$warmup" "$@" "$url" >/dev/null 2>&1 || true
}

# full_handshakes_only PORT fails if the server on PORT lets a client resume a
# TLS session, which would make the handshake figure a resumption figure.
full_handshakes_only() {
	local session=$work/session.pem request='GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
	rm -f "$session"
	printf "$request" | timeout 10 openssl s_client -connect "127.0.0.1:$1" -tls1_3 -ign_eof -sess_out "$session" >/dev/null 2>&1 || true
	[[ -s $session ]] || return 0
	if printf "$request" | timeout 10 openssl s_client -connect "127.0.0.1:$1" -tls1_3 -ign_eof -sess_in "$session" 2>/dev/null | grep -q '^Reused'; then
		echo "the server resumed a TLS session; turn session tickets/cache off"
		return 1
	fi
}

# -------------------------------------------------------------- scenarios

# measure SCENARIO NAME RUN prints one measurement of SCENARIO against the running
# server NAME, the foreign CPU load (%) during it and the server's CPU µs per
# request (- where that is the measurement itself or meaningless), or the
# reason it failed (and fails).
measure() {
	local scenario=$1 name=$2 port=${plain_port[$2]}
	local plain=http://127.0.0.1:$port secure=https://127.0.0.1:${tls_port[$2]:-}
	expected_body=${#hello_body}
	[[ $scenario == static ]] && expected_body=$(stat -c %s "$www/small.txt")
	[[ $scenario == large ]] && expected_body=$(stat -c %s "$www/large.bin")
	server_pid=${pid[$name]}
	case $scenario in
	hello) wrk_run "$plain/hello" ;;
	static) wrk_run "$plain/small.txt" ;;
	large) wrk_run "$plain/large.bin" --timeout 10s ;; # 64 MiB in flight: wrk's 2 s default is tight
	close) wrk_run "$plain/hello" -H 'Connection: close' ;;
	tls-hello) wrk_run "$secure/hello" ;;
	# one request per connection: each completed request is one full handshake
	tls-handshake) wrk_run "$secure/hello" -H 'Connection: close' ;;
	h2-hello) h2load_run -c100 -m10 "$plain/hello" ;;
	h2-tls-hello) h2load_run -c100 -m10 "$secure/hello" ;;
	h2-page)
		local i
		for i in $(seq 50); do echo "$plain/img$i.bin"; done >"$work/page.uris"
		h2load_run -c100 -m50 -i "$work/page.uris"
		;;
	h2-file) h2load_run -c16 -m1 "$plain/large.bin" ;;
	memory)
		local out=$work/idlemem-$name-$3.out
		if ! taskset -c 1 "$work/idlemem" -addr "127.0.0.1:$port" -pid "$server_pid" -n "$idle_connections" >"$out" 2>&1; then
			tail -n 1 "$out"
			return 1
		fi
		cat "$out" >&2
		awk -F': ' '/^bytes per idle connection:/ { print $2, 0, "-" }' "$out"
		return 0
		;;
	esac || return 1
	echo "$wrk_server_us $wrk_foreign $wrk_rps"
}

# warm SCENARIO NAME warms the server up the way SCENARIO will load it.
warm() {
	local plain=http://127.0.0.1:${plain_port[$2]} secure=https://127.0.0.1:${tls_port[$2]:-}
	case $1 in
	hello) warm_up "$plain/hello" ;;
	close) warm_up "$plain/hello" -H 'Connection: close' ;;
	static) warm_up "$plain/small.txt" ;;
	large) warm_up "$plain/large.bin" --timeout 10s ;;
	tls-hello) warm_up "$secure/hello" ;;
	tls-handshake) warm_up "$secure/hello" -H 'Connection: close' ;;
	esac
}

# wait_for_quiet samples the CPUs' user time second by second until other
# processes use at most noisy_percent of it, for at most quiet_wait seconds.
wait_for_quiet() {
	local waited=0 before after
	while ((waited < quiet_wait)); do
		before=$(pinned_user_ticks)
		sleep 1
		after=$(pinned_user_ticks)
		(((after - before) * 100 <= noisy_percent * 2 * clock_ticks)) && return 0
		waited=$((waited + 1))
	done
	((quiet_wait == 0)) || echo "  (the CPUs stayed busy for ${quiet_wait}s; measuring anyway)"
}

# median prints the median of its numeric arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

phase_of() {
	case $1 in
	hello | static | large | close) echo plain ;;
	tls-hello | tls-handshake) echo tls ;;
	memory) echo memory ;;
	h2-*) echo h2 ;;
	esac
}

declare -A result=() failure=() foreign=() spread=()
noisy_percent=5 # foreign user-mode load above which a figure is flagged
failed=0

record_failure() { # SCENARIO NAME REASON
	failure[$1/$2]=$3
	failed=1
	echo "  $2 $1: FAILED: $3"
}

# run_phase PHASE measures the scenarios of PHASE (plain, tls, memory, h2). For
# plain and tls every server is started once and they all stay up, idle but
# for the one measured; each round measures every scenario on every server,
# the servers in an order rotated by one from round to round, so a slow drift
# in the machine's load spreads over all of them. For memory every
# measurement gets a fresh server.
run_phase() {
	local phase=$1 name scenario outcome value load rate round i key
	local wanted=() up=() order=()
	for scenario in "${scenarios[@]}"; do
		[[ $(phase_of "$scenario") == "$phase" ]] && wanted+=("$scenario")
	done
	[[ ${#wanted[@]} -gt 0 ]] || return 0
	local mode=plain
	[[ $phase == tls || $phase == h2 ]] && mode=$phase
	for name in "${server_list[@]}"; do
		[[ $name == lwan && $mode != plain ]] && continue # Lwan is measured in cleartext HTTP/1.1 only
		if [[ $phase == memory ]]; then
			up+=("$name")
			continue
		fi
		echo "== starting $name ($phase)"
		if ! start_server "$name" "$mode"; then
			for scenario in "${wanted[@]}"; do record_failure "$scenario" "$name" "did not start: $start_error"; done
			continue
		fi
		up+=("$name")
		if [[ " ${wanted[*]} " == *" tls-handshake "* ]] && ! outcome=$(full_handshakes_only "${tls_port[$name]}"); then
			record_failure tls-handshake "$name" "$outcome"
		fi
	done
	declare -A values=() loads=() rates=()
	for round in $(seq "$repeats"); do
		wait_for_quiet
		order=()
		for i in "${!up[@]}"; do order+=("${up[(i + round - 1) % ${#up[@]}]}"); done
		echo "== round $round of $repeats ($phase): ${order[*]}"
		for scenario in "${wanted[@]}"; do
			for name in "${order[@]}"; do
				[[ -n ${failure[$scenario/$name]:-} ]] && continue
				if [[ $phase == memory ]]; then
					# memory a server has once used stays resident
					if ! start_server "$name" "$mode"; then
						record_failure "$scenario" "$name" "did not start: $start_error"
						continue
					fi
				else
					warm "$scenario" "$name"
				fi
				outcome=$(measure "$scenario" "$name" "$round") || { record_failure "$scenario" "$name" "$outcome"; outcome=; }
				[[ $phase == memory ]] && stop_server "$name"
				[[ -n $outcome ]] || continue
				read -r value load rate <<<"$outcome"
				values[$scenario/$name]+=" $value"
				loads[$scenario/$name]+=" $load"
				[[ $rate != - ]] && rates[$scenario/$name]+=" $rate"
				printf '  %-13s %-8s %10s %s' "$scenario" "$name" "$value" "$(unit_of "$scenario")"
				[[ $rate != - ]] && printf ', %s req/s' "$rate"
				printf ', foreign CPU load %s %%\n' "$load"
			done
		done
	done
	for name in "${up[@]}"; do stop_server "$name"; done
	for key in "${!values[@]}"; do
		[[ -n ${failure[$key]:-} ]] && continue # a server that failed once gets no figure
		result[$key]=$(median ${values[$key]})
		foreign[$key]=$(printf '%s\n' ${loads[$key]} | sort -n | tail -n 1)
		spread[$key]=${values[$key]# }
		if [[ -n ${rates[$key]:-} ]]; then
			result[${key%/*}:rps/${key#*/}]=$(median ${rates[$key]})
			foreign[${key%/*}:rps/${key#*/}]=${foreign[$key]}
		fi
	done
}

# ------------------------------------------------------------------ report

unit_of() {
	case $1 in
	*:rps) echo 'req/s' ;;
	memory) echo 'bytes/idle conn' ;;
	*) echo 'server CPU µs/req' ;;
	esac
}

# cell SCENARIO NAME prints the median (with * when other processes loaded
# the CPUs during a round of it), FAILED, no TLS, or - when not measured.
cell() {
	if [[ -n ${result[$1/$2]:-} ]]; then
		case $1 in
		*:rps | memory) printf '%.0f' "${result[$1/$2]}" ;;
		*) printf '%.2f' "${result[$1/$2]}" ;;
		esac
		((${foreign[$1/$2]:-0} > noisy_percent)) && printf '*'
		return 0
	fi
	case ${failure[${1%:rps}/$2]:-} in
	'') echo - ;;
	*"no TLS"*) echo 'no TLS' ;;
	*) echo FAILED ;;
	esac
}

# best_c SCENARIO prints the C server with the best figure for SCENARIO (the
# lowest, or for req/s the highest), among nginx and Lwan.
best_c() {
	local name best= value
	for name in nginx lwan; do
		value=${result[$1/$name]:-}
		[[ -n $value ]] || continue
		if [[ -z $best ]] || awk -v a="$value" -v b="${result[$1/$best]}" -v up="$([[ $1 == *:rps ]] && echo 1)" \
			'BEGIN { exit !(up ? a > b : a < b) }'; then
			best=$name
		fi
	done
	echo "$best"
}

# ratio SCENARIO A B prints A / B, or - when either is missing. B may be
# "best", the best C server for the scenario.
ratio() {
	local peer=$3
	[[ $peer == best ]] && peer=$(best_c "$1")
	local a=${result[$1/$2]:-} b=${result[$1/${peer:-none}]:-}
	if [[ -n $a && -n $b ]]; then
		awk -v a="$a" -v b="$b" 'BEGIN { if (b <= 0) print "-"; else if (a / b < 0.1) printf "%.2g", a / b; else printf "%.2f", a / b }'
		[[ $3 == best ]] && printf ' (%s)' "${label[$peer]}"
	else
		echo -
	fi
	return 0
}

has_server() { [[ ",$servers," == *",$1,"* ]]; }

declare -A label=([lwango]=lwango [nethttp]=net/http [nginx]=nginx [lwan]=Lwan)

# table SUFFIX prints the table of the rows SCENARIO+SUFFIX ("" for CPU per
# request and memory, ":rps" for requests per second).
table() {
	local header=(scenario unit) name peer scenario row
	for name in "${server_list[@]}"; do header+=("${label[$name]}"); done
	local ratios=()
	if has_server lwango; then
		has_server nginx && has_server lwan && ratios+=("lwango/best")
		for peer in nginx lwan nethttp; do has_server "$peer" && ratios+=("lwango/$peer"); done
	fi
	for peer in "${ratios[@]}"; do
		peer=${peer//nethttp/net\/http}
		header+=("${peer//best/best C}")
	done
	{
		(IFS=$'\t'; echo "${header[*]}")
		for scenario in "${scenarios[@]}"; do
			[[ $1 == :rps && $scenario == memory ]] && continue
			row=("$scenario" "$(unit_of "$scenario$1")")
			for name in "${server_list[@]}"; do row+=("$(cell "$scenario$1" "$name")"); done
			for peer in "${ratios[@]}"; do row+=("$(ratio "$scenario$1" "${peer%/*}" "${peer#*/}")"); done
			(IFS=$'\t'; echo "${row[*]}")
		done
	} | column -t -s $'\t'
}

print_report() {
	echo
	echo "lwango benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
	echo "lwango $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3), $(command -v nginx >/dev/null && nginx -v 2>&1 | cut -d' ' -f3)${LWAN:+, Lwan $LWAN}, wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
	echo "servers on CPU 0, wrk -t1 -c$connections -d$duration on CPU 1, warm-up $warmup, median of $repeats round(s), servers alternating within each round"
	echo "TLS 1.3 $tls_suite, ECDSA P-256 certificate, group $tls_group; net/http GOMAXPROCS=${nethttp_gomaxprocs:-default (1 CPU in its affinity mask)}"
	echo "load average at start: $load_at_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "server CPU time per request (utime+stime of the server's processes / requests completed), lower is better:"
	table ""
	if [[ " ${scenarios[*]} " != " memory " ]]; then
		echo
		echo "requests per second (wrk), higher is better; with one wrk thread the client often saturates first:"
		table :rps
	fi
	echo
	echo "ratios are lwango / peer of the medians; best C is the better of nginx and Lwan for that row."
	local key noisy=()
	for key in "${!foreign[@]}"; do
		[[ $key == *:rps/* ]] && continue
		((${foreign[$key]} > noisy_percent)) && noisy+=("${key#*/} ${key%/*} ${foreign[$key]}%")
	done
	if [[ ${#noisy[@]} -gt 0 ]]; then
		echo "* other processes used more than $noisy_percent % of the two CPUs during a round of these; do not trust them:"
		printf '    %s\n' "${noisy[@]}" | sort
	fi
	echo
	echo "every round (server CPU µs/request, or bytes for memory):"
	for key in "${!spread[@]}"; do
		printf '  %-13s %-8s %s\n' "${key%/*}" "${label[${key#*/}]}" "${spread[$key]}"
	done | sort

	if [[ " ${scenarios[*]} " == *" memory "* ]]; then
		echo
		echo "server RSS before and with $idle_connections idle keep-alive connections:"
		local name run
		for name in "${server_list[@]}"; do
			for run in $(seq "$repeats"); do
				[[ -s $work/idlemem-$name-$run.out ]] &&
					printf '  %-9s %s\n' "${label[$name]}" "$(grep '^rss before' "$work/idlemem-$name-$run.out")"
			done
		done
	fi

	if [[ ${#failure[@]} -gt 0 ]]; then
		echo
		echo "failures:"
		for key in "${!failure[@]}"; do
			echo "  ${key#*/} ${key%/*}: ${failure[$key]}"
		done | sort
	fi
}

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
run_phase plain
run_phase tls
run_phase memory
run_phase h2
print_report
exit "$failed"

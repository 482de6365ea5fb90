#!/bin/sh
# make bench: starts one dmq-agent on a free loopback port with a fresh data
# directory, measures the workloads of the peer benchmarks (durable bulk
# send, receive+ack drain, one-shot CLI processes, idle memory) and prints
# the figures. When redis-server and redis-benchmark are installed it also
# measures Redis with appendfsync always in the same run, so the ratio is
# taken on the same machine at the same time. Every process it starts is
# stopped by its PID; nothing listens beyond 127.0.0.1.
#
#   sh bench/run.sh [BUILD_DIR]     MAXSECS caps each load run (default 5)
set -eu

build=${1:-build}
bench="$build/dmq_bench"
dmq="$build/dmq"
agent_bin="$build/dmq-agent"
export MAXSECS=${MAXSECS:-5}
work=$(mktemp -d /tmp/dmq-bench-XXXXXX)
agent_pid=""
redis_pid=""

cleanup() {
    [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_agent() {
    "$agent_bin" --data-dir "$work/agent" --listen 127.0.0.1:0 \
        --log-level warn 2>"$work/agent.log" &
    agent_pid=$!
    for _ in $(seq 50); do
        [ -s "$work/agent/listen.addr" ] && break
        sleep 0.1
    done
    addr=$(sed 's|tcp://||' "$work/agent/listen.addr")
}

rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
rate() { sed -n 's/.*msgs_per_s=\([0-9]*\).*/\1/p'; }
p50() { sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p'; }

start_agent
sleep 0.5
idle_rss=$(rss_kib "$agent_pid")
echo "dmq-agent $("$agent_bin" --version | awk '{print $2}') on $addr," \
     "runs capped at ${MAXSECS}s; idle RSS ${idle_rss} KiB"

"$dmq" --agents "$addr" queue create bench100 >/dev/null
"$dmq" --agents "$addr" queue create bench4k >/dev/null
"$dmq" --agents "$addr" queue create oneshot >/dev/null

echo "W1/W4 durable bulk send (batches of 100, 10 in flight; acked = fsynced):"
w1_100=$("$bench" send "$addr" bench100 1000000 100 100 10)
echo "  100 B:  $w1_100"
w1_4k=$("$bench" send "$addr" bench4k 200000 4096 100 10)
echo "  4 KiB:  $w1_4k"

echo "W2 drain, one worker (receive + ack, each acked durably):"
strict=$(MAXSECS=3 "$bench" drain "$addr" bench100 1000000 1)
echo "  1 at a time:       $strict"
batched=$("$bench" drain "$addr" bench100 1000000 100)
echo "  100 per receive:   $batched"

echo "W3 one-shot processes (200 runs after 5 warm-up):"
floor=$("$bench" spawn 200 "$dmq" --version)
echo "  dmq --version:     $floor"
send1=$("$bench" spawn 200 "$dmq" --agents "$addr" send oneshot hello)
echo "  dmq send:          $send1"
recv1=$("$bench" spawn 200 "$dmq" --agents "$addr" receive oneshot --delete)
echo "  dmq receive:       $recv1"
busy_rss=$(rss_kib "$agent_pid")
echo "agent RSS after the runs: ${busy_rss} KiB"

if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null
then
    mkdir -p "$work/redis"
    redis-server --port 36479 --bind 127.0.0.1 --dir "$work/redis" \
        --appendonly yes --appendfsync always --save '' \
        --daemonize no >"$work/redis.log" 2>&1 &
    redis_pid=$!
    sleep 1
    redis=$(redis-benchmark -p 36479 -q -t lpush -n 300000 -c 1 -P 1000 -d 100 \
        2>/dev/null | tr '\r' '\n' | awk '/LPUSH/ { print $2 }' | tail -n 1)
    ours=$(echo "$w1_100" | rate)
    echo "Redis appendfsync always, LPUSH 100 B, one client, 1000 in flight:" \
         "${redis} msgs/s; dmq/Redis = $(awk "BEGIN { printf \"%.2f\", \
         $ours / $redis }")"
else
    echo "(redis-server not installed: no side-by-side Redis figure;" \
         "see ../shared/peerbench for the peers)"
fi

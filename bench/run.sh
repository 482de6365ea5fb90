#!/bin/sh
# make bench: starts one dmq-agent on a free loopback port with a fresh data
# directory, measures the workloads of the peer benchmarks (durable bulk
# send, receive+ack drain, one-shot CLI processes, idle memory) and prints
# the figures. Beside them: what batching buys (one message per request
# against 100), a FIFO queue with 100 message groups, and the latency from
# a send to a waiting consumer, by push and by long poll. When
# redis-server and redis-benchmark are installed it also
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
count() { sed -n 's/^RESULT n=\([0-9]*\).*/\1/p'; }
# ratio A B: A/B to one decimal, or n/a when B is 0 (nothing was measured)
ratio() {
    awk "BEGIN { if ($2 > 0) printf \"%.1f\", $1 / $2; else print \"n/a\" }"
}

start_agent
sleep 0.5
idle_rss=$(rss_kib "$agent_pid")
echo "dmq-agent $("$agent_bin" --version | awk '{print $2}') on $addr," \
     "runs capped at ${MAXSECS}s; idle RSS ${idle_rss} KiB"

"$dmq" --agents "$addr" queue create bench100 >/dev/null
"$dmq" --agents "$addr" queue create bench4k >/dev/null
"$dmq" --agents "$addr" queue create oneshot >/dev/null
"$dmq" --agents "$addr" queue create single >/dev/null
"$dmq" --agents "$addr" queue create fifo100 --fifo >/dev/null
"$dmq" --agents "$addr" queue create pushed >/dev/null
"$dmq" --agents "$addr" queue create polled >/dev/null

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

# The same durable 100 B messages one per request, one in flight, so each
# costs a whole fsync and round trip: what a client gains by batching.
echo "Batch vs single, 100 B durable:"
single=$(MAXSECS=3 "$bench" send "$addr" single 1000000 100 1 1)
echo "  send 1 per request, 1 in flight:  $single"
echo "  send batch 100 x 10 in flight / batch 1:" \
     "$(ratio "$(echo "$w1_100" | rate)" "$(echo "$single" | rate)")x"
echo "  receive+ack 100 per receive / 1 at a time:" \
     "$(ratio "$(echo "$batched" | rate)" "$(echo "$strict" | rate)")x"

# A FIFO receive hands out at most one message per group, so with 100
# groups a receive of 100 is the most a FIFO drain can take at once.
echo "FIFO queue, 100 groups, 100 B (batches of 100, 10 in flight):"
fifo_send=$("$bench" send "$addr" fifo100 200000 100 100 10 100)
echo "  send:                      $fifo_send"
fifo_sent=$(echo "$fifo_send" | count)
fifo_drain=$("$bench" drain "$addr" fifo100 "$fifo_sent" 100)
echo "  drain (receive 100 + ack): $fifo_drain"

# One message at a time from a producer to a consumer already waiting on
# its own connection; the time includes the durable send and the commit
# of the delivery. Each message is acked before the next is sent.
echo "Delivery latency, send to consumer, 100 B, one at a time:"
pushed=$("$bench" latency "$addr" pushed 2000 push)
echo "  push (subscribe, credit 100):    $pushed"
polled=$("$bench" latency "$addr" polled 2000 poll)
echo "  long poll (receive parked):      $polled"

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

#!/bin/bash
# The dmq CLI end to end: starts a real dmq-agent on 127.0.0.1 (a free port
# in 20000-29999, data in a fresh /tmp/cli-test-XXXX), drives it with the
# real dmq binary, and checks outputs and exit statuses as a user or a
# script would see them. Stops the agent (by its PID) and removes its data
# when done; restarts it (same port and data) to test consumers that
# outlive it. Takes about 40 seconds.
#
# Usage: end_to_end.sh PATH/TO/dmq PATH/TO/dmq-agent

set -u
dmq_bin=$1
agent_bin=$2
data=$(mktemp -d /tmp/cli-test-XXXX)
agent_pid=""
agent_port=""
passed=0
failed=0

cleanup() {
    if [[ -n $agent_pid ]]; then
        kill "$agent_pid" 2>/dev/null
        wait "$agent_pid" 2>/dev/null
    fi
    rm -rf "$data"
}
trap cleanup EXIT

dmq() { "$dmq_bin" "$@"; }

pass() { passed=$((passed + 1)); }

fail() {
    echo "end_to_end: FAILED: $*" >&2
    failed=$((failed + 1))
}

# expect STATUS DESCRIPTION COMMAND...: runs the command, keeping its
# stdout in $out and stderr in $err, and checks its exit status.
expect() {
    local want=$1 what=$2
    shift 2
    "$@" >"$data/out" 2>"$data/err"
    local got=$?
    out=$(cat "$data/out")
    err=$(cat "$data/err")
    if [[ $got == "$want" ]]; then
        pass
    else
        fail "$what: exit status $got, expected $want; stderr: $err"
    fi
}

# same DESCRIPTION ACTUAL EXPECTED
same() {
    if [[ $2 == "$3" ]]; then
        pass
    else
        fail "$1: got '$2', expected '$3'"
    fi
}

# has DESCRIPTION TEXT PATTERN (a grep -E pattern)
has() {
    if grep -qE -e "$3" <<<"$2"; then
        pass
    else
        fail "$1: '$3' not in '$2'"
    fi
}

# run_agent PORT: starts the agent on PORT; false if it does not answer.
run_agent() {
    "$agent_bin" --data-dir "$data/agent" --listen "127.0.0.1:$1" \
        >>"$data/agent.log" 2>&1 &
    agent_pid=$!
    export DMQ_AGENTS="127.0.0.1:$1"
    for _ in $(seq 50); do
        dmq --timeout 200ms health >/dev/null 2>&1 && return 0
        kill -0 "$agent_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$agent_pid" 2>/dev/null
    wait "$agent_pid" 2>/dev/null
    agent_pid=""
    return 1
}

start_agent() {
    local try port
    for try in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 10000))
        # A port that accepts a connection is taken.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        run_agent "$port" && agent_port=$port && return 0
    done
    echo "end_to_end: dmq-agent did not start; its log:" >&2
    cat "$data/agent.log" >&2
    exit 1
}

# restart_agent SIGNAL: stops the agent with SIGNAL, then starts it again
# on the same port with the same data.
restart_agent() {
    kill -"$1" "$agent_pid"
    wait "$agent_pid" 2>/dev/null
    agent_pid=""
    sleep 0.5
    run_agent "$agent_port" || {
        echo "end_to_end: dmq-agent did not restart; its log:" >&2
        cat "$data/agent.log" >&2
        exit 1
    }
}

# wait_for_line FILE LINE: true once FILE has LINE, within 10 seconds.
wait_for_line() {
    for _ in $(seq 100); do
        grep -qxF -e "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

elapsed_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

test_queues() {
    expect 0 "health" dmq health
    has "health shows the agent" "$out" "127\.0\.0\.1:[0-9]+ +ok"
    expect 0 "queue create" dmq queue create jobs
    expect 5 "queue create of an existing queue" dmq queue create jobs
    has "exists error" "$err" "^dmq: error: .*jobs"
    expect 2 "invalid queue name" dmq queue create "bad name"
    same "nothing on stdout for an error" "$out" ""
    expect 0 "queue list" dmq queue list
    same "queue list prints names" "$out" "jobs"
    expect 0 "queue info" dmq queue info jobs
    has "queue info keys" "$out" "^visibility: 30s$"
    has "queue info owner" "$out" "^owner: "
    expect 0 "queue update" dmq queue update jobs --visibility 1m
    expect 0 "queue info json" dmq queue info jobs --format json
    has "updated visibility" "$out" '"visibility_ms":60000'
    expect 4 "unknown queue" dmq queue info jbos
    has "did you mean" "$err" "did you mean 'jobs'\?"
    expect 4 "send to unknown queue" dmq send jbos hello
}

test_send_receive() {
    expect 0 "send from argument" dmq send jobs hello
    has "send prints an id" "$out" "^[0-9a-f]{24}$"
    expect 0 "receive" dmq receive jobs --delete
    same "body with a newline" "$out" "hello"
    expect 1 "receive from an empty queue" dmq receive jobs
    same "no output when empty" "$out" ""

    # An empty body, three ways, is one empty message each time.
    dmq send -q jobs ''
    printf '' | dmq send -q jobs
    dmq send -q jobs </dev/null
    dmq receive jobs -n 10 --delete -0 >"$data/empty"
    same "three empty messages" "$(od -An -c "$data/empty" | tr -d ' ')" \
        '\0\0\0'

    # Bodies are bytes: NULs and invalid UTF-8 come back as they went.
    head -c 3000 /dev/urandom >"$data/binary"
    expect 0 "send binary" dmq send jobs <"$data/binary"
    dmq receive jobs --raw --delete >"$data/binary.out"
    cmp -s "$data/binary" "$data/binary.out" && pass ||
        fail "binary body changed on the way"

    expect 2 "a directory as stdin" dmq send jobs </
    same "unreadable stdin named" "$err" \
        "dmq: error: cannot read stdin: Is a directory"

    expect 0 "literal --help body" dmq send -q jobs -- --help
    expect 0 "receive literal" dmq receive jobs --delete
    same "body is not an option" "$out" "--help"
}

test_lines() {
    printf 'a\r\n\nb\nlast' | dmq send -q --lines jobs
    dmq receive jobs -n 10 --delete -0 >"$data/lines"
    same "lines keep CR, blank lines count, last line counts" \
        "$(od -An -c "$data/lines" | tr -s ' ')" \
        ' a \r \0 \0 b \0 l a s t \0'
    expect 0 "NUL-delimited" bash -c \
        "printf 'x\ny\0z' | '$dmq_bin' send -q --null jobs"
    expect 0 "receive NUL-delimited" dmq receive jobs -n 5 --delete
    same "records split on NUL only" "$out" $'x\ny\nz'

    seq 2500 | dmq send --lines jobs >"$data/ids"
    same "one id per line of a large input" "$(wc -l <"$data/ids")" 2500
    expect 0 "info after a large send" dmq queue info jobs --format json
    has "all lines stored" "$out" '"visible":2500'
    expect 0 "receive many" dmq receive jobs -n 2500 --delete
    same "every line back, in order" "$out" "$(seq 2500)"
}

test_streaming() {
    local start
    start=$(date +%s%N)
    (echo first; sleep 2; echo second) | "$dmq_bin" send -q --lines jobs &
    local sender=$!
    expect 0 "a streamed line arrives before input ends" \
        dmq receive jobs --wait 1500ms --delete
    same "streamed line" "$out" "first"
    (($(elapsed_ms "$start") < 1500)) && pass ||
        fail "streamed line took $(elapsed_ms "$start")ms"
    wait "$sender"
    dmq receive jobs --delete >/dev/null
}

test_json() {
    printf 'caf\xc3\xa9 "q" \\ \x01' | dmq send -q jobs --attr kind=test
    printf '\xff\xfe' | dmq send -q jobs
    expect 0 "receive json" dmq receive jobs -n 2 --format json
    local first second
    first=$(sed -n 1p <<<"$out")
    second=$(sed -n 2p <<<"$out")
    has "json escapes" "$first" '"body":"café \\"q\\" \\\\ \\u0001"'
    has "json attributes" "$first" '"attributes":\{"kind":"test"\}'
    has "json receipt" "$first" '"receipt":"[0-9a-f]{24}\.[0-9a-f]+"'
    has "json time" "$first" \
        '"sent_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z"'
    has "invalid UTF-8 as base64" "$second" '"body_base64":"//4="'

    # Ack by receipt, and a second ack of the same receipt is refused.
    local receipt
    receipt=$(sed -E 's/.*"receipt":"([^"]+)".*/\1/' <<<"$first")
    expect 0 "ack" dmq ack jobs "$receipt"
    expect 5 "ack of a deleted message" dmq ack jobs "$receipt"
    receipt=$(sed -E 's/.*"receipt":"([^"]+)".*/\1/' <<<"$second")
    expect 0 "extend" dmq extend jobs "$receipt" --visibility 30s
    expect 0 "release" dmq release jobs "$receipt"
    expect 0 "peek" dmq peek jobs --format json
    has "peek has no receipt" "$out" '^\{"id":"[0-9a-f]+","receive_count":1,'
    expect 0 "receive released" dmq receive jobs --format json --delete
    has "second delivery" "$out" '"receive_count":2'
}

test_stale_receipt() {
    dmq send -q jobs stale
    local old
    old=$(dmq receive jobs --visibility 300ms --format json |
        sed -E 's/.*"receipt":"([^"]+)".*/\1/')
    expect 0 "receive again after the timeout" dmq receive jobs --wait 5s \
        --delete
    expect 5 "ack with a stale receipt" dmq ack jobs "$old"
    has "stale receipt named" "$err" "^dmq: error: .*receipt '$old'"
}

test_exec() {
    printf 'ok\nbad\nok\n' | dmq send -q --lines jobs
    expect 7 "exec with one failing command" dmq receive jobs -n 3 \
        --exec 'test "$(cat)" = ok && echo "$DMQ_QUEUE $DMQ_RECEIVE_COUNT"'
    same "commands ran with the environment" "$out" $'jobs 1\njobs 1'
    has "failure warned" "$err" "^dmq: warning: command exited with status 1"
    expect 0 "failed message was released" dmq queue info jobs --format json
    has "only the failed message is left" "$out" '"delayed":1|"visible":1'
    expect 0 "exec again, once the message is back" dmq receive jobs \
        --wait 5s --exec 'cat >/dev/null'
    expect 1 "exec on an empty queue" dmq receive jobs --exec true
}

test_signals() {
    local start pid status
    for sig in INT TERM; do
        start=$(date +%s%N)
        # The binary itself, not the dmq function: $! must be its PID.
        "$dmq_bin" receive jobs --wait 20s >"$data/sig.out" &
        pid=$!
        sleep 0.5
        kill -"$sig" "$pid"
        wait "$pid"
        status=$?
        same "receive interrupted by SIG$sig" "$status" \
            "$([[ $sig == INT ]] && echo 130 || echo 143)"
        (($(elapsed_ms "$start") < 1500)) && pass ||
            fail "SIG$sig took $(elapsed_ms "$start")ms to stop receive"
        # The cancelled wait must not take the next message.
        dmq send -q jobs "after $sig"
        expect 0 "message after a cancelled wait" dmq receive jobs --delete
        same "not swallowed by the dead waiter" "$out" "after $sig"
    done

    "$dmq_bin" receive jobs --follow --delete >"$data/follow.out" &
    pid=$!
    sleep 0.3
    dmq send -q jobs one
    dmq send -q jobs two
    sleep 0.5
    kill -TERM "$pid"
    wait "$pid"
    same "follow exits 0 on SIGTERM" "$?" 0
    same "follow printed both" "$(cat "$data/follow.out")" $'one\ntwo'
}

test_exec_second_signal() {
    local pid start
    dmq queue create stop
    dmq send -q stop slow
    # The command's own child must go too: it is in the command's group.
    "$dmq_bin" receive stop --follow --exec \
        "sleep 30 & echo \$! >'$data/sleeper'; wait" 2>"$data/stop.err" &
    pid=$!
    for _ in $(seq 50); do
        [[ -s $data/sleeper ]] && break
        sleep 0.1
    done
    kill -TERM "$pid"
    sleep 0.3
    kill -0 "$pid" 2>/dev/null && pass ||
        fail "the first SIGTERM did not let the command finish"
    start=$(date +%s%N)
    kill -TERM "$pid"
    wait "$pid"
    same "a second SIGTERM stops the command and exits 143" "$?" 143
    (($(elapsed_ms "$start") < 3000)) && pass ||
        fail "stopping the command took $(elapsed_ms "$start")ms"
    sleep 0.1
    # A zombie is dead: init may be slow to reap it.
    [[ $(ps -o stat= -p "$(cat "$data/sleeper")") == [^Z]* ]] &&
        fail "the command's child outlived dmq" || pass
    has "stopped command warned" "$(cat "$data/stop.err")" \
        "^dmq: warning: stopped the command .*; released the message$"
    expect 0 "stopped message released" dmq queue info stop --format json
    has "stopped message visible at once" "$out" '"visible":1'
    dmq queue delete stop --force
}

# A --follow consumer outlives its agent's restarts, clean or not.
test_follow_restart() {
    local pid sig handler="cat >>'$data/fol.out'; echo >>'$data/fol.out'"
    dmq queue create fol
    "$dmq_bin" receive fol --follow --exec "$handler" 2>"$data/fol.err" &
    pid=$!
    dmq send -q fol first
    wait_for_line "$data/fol.out" first && pass ||
        fail "follow consumer did not handle its first message"
    for sig in TERM KILL; do
        restart_agent "$sig"
        kill -0 "$pid" 2>/dev/null && pass ||
            fail "follow consumer exited when the agent got SIG$sig"
        dmq send -q fol "after $sig"
        wait_for_line "$data/fol.out" "after $sig" && pass ||
            fail "follow consumer did not come back after SIG$sig"
    done
    kill -TERM "$pid"
    wait "$pid"
    same "follow consumer exits 0 after the restarts" "$?" 0
    same "one warning per loss and per return" \
        "$(grep -c '^dmq: warning: ' "$data/fol.err")" 4
    has "loss warned" "$(cat "$data/fol.err")" "retrying until an agent answers"
    has "return warned" "$(cat "$data/fol.err")" "an agent answers again"
}

# A message printed by receive --delete whose ack cannot reach the agent:
# the error says it comes back. Stdout is a pipe read only later, so that
# the agent is gone between the receive and the ack.
test_printed_not_acked() {
    dmq queue create big --max-size 2MiB
    head -c 1000000 /dev/zero | tr '\0' a | dmq send -q big
    ("$dmq_bin" receive big --delete 2>"$data/ack.err"
        echo $? >"$data/ack.rc") | (sleep 2; cat >/dev/null) &
    local reader=$!
    sleep 0.7
    kill -KILL "$agent_pid"
    wait "$agent_pid" 2>/dev/null
    agent_pid=""
    wait "$reader"
    same "unacked receive exits 3" "$(cat "$data/ack.rc")" 3
    has "unacked message comes back" "$(cat "$data/ack.err")" \
        "^dmq: error: printed message '[0-9a-f]+' but could not ack it: .*; \
it will be delivered again after its visibility timeout$"
    sleep 0.5
    run_agent "$agent_port" || fail "dmq-agent did not restart"
}

test_limits() {
    expect 0 "small queue" dmq queue create small --max-size 10
    expect 2 "delay over 15m" dmq send small x --delay 16m
    same "range named" "$err" "dmq: error: --delay 16m: must be at most 15m"
    expect 2 "zero timeout" dmq --timeout 0 queue list
    expect 5 "body over max-size" dmq send small 12345678901
    has "too large" "$err" "^dmq: error: "
    expect 0 "delayed send" dmq send -q small late --delay 1s
    expect 1 "delayed message invisible" dmq receive small
    expect 0 "delayed message visible later" dmq receive small --wait 5s \
        --delete
    dmq send -q small x
    expect 5 "delete of a non-empty queue" dmq queue delete small
    expect 0 "delete with --force" dmq queue delete small --force
    expect 4 "deleted queue is gone" dmq queue info small
}

test_stats_and_errors() {
    expect 0 "stats" dmq stats
    has "stats table" "$out" "^QUEUE +SENT"
    expect 0 "stats json" dmq stats jobs --format json
    has "stats counters" "$out" '"name":"jobs","sent":[0-9]+'
    expect 0 "purge" dmq queue purge jobs
    expect 3 "unreachable agent" dmq --agents 127.0.0.1:1 queue list
    has "unreachable named" "$err" "127\.0\.0\.1:1.*refused"
    expect 2 "unknown command" dmq qeue list
    has "command suggestion" "$err" "did you mean 'queue'\?"
}

# FIFO queues: one message per group at a time, the rest held behind it.
test_fifo() {
    expect 0 "fifo queue" dmq queue create fq --fifo
    expect 5 "a FIFO send needs a group" dmq send fq nogroup
    dmq send -q fq --group g1 a1
    dmq send -q fq --group g1 a2
    dmq send -q fq --group g2 b1
    expect 0 "receive from a FIFO queue" dmq receive fq -n 10 --format json
    same "one message per group" "$(wc -l <<<"$out")" 2
    has "group in json" "$out" '"group":"g1"'
    expect 0 "info of a FIFO queue" dmq queue info fq
    has "fifo shown" "$out" "^fifo: yes$"
    has "held counted" "$out" "^held: 1$"
    expect 0 "queue list -l" dmq queue list -l
    has "held column" "$out" "^fq +0 +2 +0 +1$"
    expect 0 "purge the FIFO queue" dmq queue purge fq
    dmq send -q fq --group g3 --attr kind=resize body
    expect 0 "exec with group and attributes" dmq receive fq \
        --exec 'echo "$DMQ_GROUP $DMQ_ATTR_kind"'
    same "DMQ_GROUP and DMQ_ATTR_ set" "$out" "g3 resize"
    dmq queue delete fq --force
}

# Dedup ids, by the sender's id or by content, and duplicates reported.
test_dedup() {
    dmq queue create dd
    expect 0 "first send of a dedup id" dmq send dd first --dedup-id k1
    local first=$out
    expect 0 "repeat of a dedup id" dmq send dd again --dedup-id k1
    same "a duplicate prints the first id" "$out" "$first"
    same "duplicate noted" "$err" "dmq: note: message 1 was a duplicate of \
$first (dedup id 'k1'); nothing stored"
    expect 0 "duplicates in json" dmq send dd --format json --dedup-id k2 \
        --lines $'x\ny'
    has "first is new" "$(sed -n 1p <<<"$out")" '"duplicate":false'
    has "second is a duplicate" "$(sed -n 2p <<<"$out")" '"duplicate":true'
    expect 0 "stats count duplicates" dmq stats dd --format json
    has "duplicates counter" "$out" '"duplicates":2'
    expect 2 "content dedup needs a FIFO queue" dmq queue create cd \
        --content-dedup
    expect 0 "content dedup queue" dmq queue create cd --fifo \
        --content-dedup --dedup-window 1m
    dmq send -q cd --group g same
    expect 0 "same body again" dmq send cd --group g same
    has "content duplicate noted" "$err" "content dedup"
    expect 0 "one stored" dmq queue info cd --format json
    has "content dedup shown" "$out" \
        '"dedup_window_ms":60000,"content_dedup":true'
    has "the repeat was not stored" "$out" \
        '"visible":1,"in_flight":0,"delayed":0,"held":0'
    dmq queue delete cd --force
    dmq queue delete dd --force
}

test_priority() {
    dmq queue create prio
    dmq send -q prio later --priority 9
    dmq send -q prio first --priority 0
    dmq send -q prio middle
    expect 0 "receive by priority" dmq receive prio -n 3 --delete
    same "lowest number first" "$out" $'first\nmiddle\nlater'
    expect 2 "priority out of range" dmq send prio x --priority 10
    dmq queue delete prio
}

# A message released once too often moves to the dead-letter queue;
# redrive moves it back.
test_dead_letters() {
    dmq queue create dead
    expect 2 "--max-receives needs --dlq" dmq queue create work \
        --max-receives 1
    expect 0 "queue with a dlq" dmq queue create work --dlq dead \
        --max-receives 1
    expect 0 "info shows the dlq" dmq queue info work
    has "dlq" "$out" "^dlq: dead$"
    has "max receives" "$out" "^max_receives: 1$"
    local id receipt
    id=$(dmq send work doomed)
    receipt=$(dmq receive work --format json |
        sed -E 's/.*"receipt":"([^"]+)".*/\1/')
    expect 0 "release of the last allowed delivery" dmq release work \
        "$receipt"
    expect 0 "peek the dead-letter queue" dmq peek dead --format json
    has "dead-lettered with its id" "$out" "\"id\":\"$id\""
    has "source queue kept" "$out" '"source_queue":"work"'
    expect 0 "stats count the move" dmq stats work --format json
    has "dead_lettered counter" "$out" '"dead_lettered":1'
    expect 5 "a dlq in use cannot be deleted" dmq queue delete dead --force

    expect 0 "show a dead letter" dmq show dead "$id"
    has "show state" "$out" "^state: visible$"
    has "show source queue" "$out" "^source_queue: work$"
    expect 4 "show of an unknown message" dmq show dead 000000000000000000000000

    expect 0 "redrive" dmq queue redrive dead
    same "redrive summary" "$out" "moved 1, skipped 0"
    expect 0 "redriven message" dmq receive work --format json --delete
    has "redrive counted" "$out" '"redrive_count":1'

    dmq send -q dead orphan
    expect 4 "redrive to a queue that does not exist" dmq queue redrive \
        dead --to nosuch
    expect 0 "redrive of a message with no source queue" dmq queue redrive dead
    same "skipped summary" "$out" "moved 0, skipped 1"
    has "why skipped" "$err" "^dmq: note: 1 message was skipped .*give --to"
    expect 0 "redrive with --to" dmq queue redrive dead --to work \
        --format json
    same "redrive json" "$out" '{"moved":1,"skipped":0}'
    expect 0 "no dlq" dmq queue update work --no-dlq
    expect 0 "info without a dlq" dmq queue info work --format json
    has "dlq null" "$out" '"dlq":null,"max_receives":null'
    dmq queue delete work --force
    dmq queue delete dead --force
}

# release, extend and ack of several receipts, each in one request.
test_receipt_batches() {
    dmq queue create rb
    dmq send -q --lines rb $'a\nb\nc'
    local receipts
    receipts=$(dmq receive rb -n 3 --format json |
        sed -E 's/.*"receipt":"([^"]+)".*/\1/')
    # shellcheck disable=SC2086
    expect 0 "extend three" dmq extend rb $receipts --visibility 1m
    # shellcheck disable=SC2086
    expect 0 "release three" dmq release rb $receipts
    expect 0 "all visible again" dmq queue info rb --format json
    has "three visible" "$out" '"visible":3'
    receipts=$(dmq receive rb -n 3 --format json |
        sed -E 's/.*"receipt":"([^"]+)".*/\1/')
    # shellcheck disable=SC2086
    expect 5 "ack with one bad receipt" dmq ack rb $receipts bogus
    same "one error line for the bad one" "$(wc -l <<<"$err")" 1
    expect 0 "the good ones were acked" dmq queue info rb --format json
    has "none left" "$out" '"visible":0,"in_flight":0'
    dmq queue delete rb
}

# receive --follow with push delivery: -n messages in hand at a time, all
# delivered, none left in flight after a clean stop.
test_follow_push() {
    local pid
    dmq queue create push
    "$dmq_bin" receive push --follow -n 2 --delete >"$data/push.out" &
    pid=$!
    sleep 0.3
    dmq send -q --lines push "$(seq 5)"
    wait_for_line "$data/push.out" 5 && pass ||
        fail "pushed messages did not all arrive"
    kill -TERM "$pid"
    wait "$pid"
    same "push consumer exits 0 on SIGTERM" "$?" 0
    same "every pushed message printed once" "$(cat "$data/push.out")" \
        "$(seq 5)"
    expect 0 "nothing left in flight" dmq queue info push --format json
    has "all acked" "$out" '"visible":0,"in_flight":0'
    dmq queue delete push
}

start_agent
test_queues
test_send_receive
test_lines
test_streaming
test_json
test_stale_receipt
test_exec
test_signals
test_exec_second_signal
test_limits
test_stats_and_errors
test_fifo
test_dedup
test_priority
test_dead_letters
test_receipt_batches
test_follow_push
test_follow_restart
test_printed_not_acked

echo "end_to_end: $passed passed, $failed failed"
((failed == 0))

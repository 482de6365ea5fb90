# fish completion for dmq, the dmq message queue CLI.
# Install as /usr/share/fish/vendor_completions.d/dmq.fish. Queue names
# come from `dmq queue list` (errors are ignored). Every command and option
# of `dmq __spec` must be here; tests/cmd/check_docs.sh checks that by
# asking fish for completions.

# Prints the command typed so far ("queue create", "send", or nothing)
# and, on a second line, how many arguments follow it.
function __dmq_state
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path
    set -l args 0
    set -l skip 0
    for token in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $token
            case --agents --timeout --visibility --retention --max-size \
                --delay --attr --format -n --max --wait --exec --dlq \
                --max-receives --dedup-window --to --rate --group \
                --dedup-id --priority
                set skip 1
            case '-*'
            case '*'
                if test $args = 0; and test -z "$path"; and contains -- $token \
                        queue send receive peek show ack release extend \
                        health stats
                    set path $token
                else if test $args = 0; and test "$path" = queue; and \
                        contains -- $token create list info update delete \
                        purge redrive
                    set path queue $token
                else
                    set args (math $args + 1)
                end
        end
    end
    echo "$path"
    echo $args
end

# True when the command typed so far is exactly $argv.
function __dmq_using
    set -l state (__dmq_state)
    test "$state[1]" = "$argv"
end

# True when the next word is the queue name of a command that takes one.
function __dmq_wants_queue
    set -l state (__dmq_state)
    test "$state[2]" = 0; or return 1
    contains -- "$state[1]" 'queue info' 'queue update' 'queue delete' \
        'queue purge' 'queue redrive' send receive peek show ack release \
        extend stats
end

function __dmq_queue_names
    # The same agents as the command being typed, and never a long wait.
    set -l tokens (commandline -opc)
    set -l globals --timeout 1s
    set -l i (contains -i -- --agents $tokens)
    and set -a globals --agents $tokens[(math $i + 1)]
    dmq $globals queue list 2>/dev/null
end

complete -c dmq -f

# Global options, before or after the command.
complete -c dmq -l agents -r -d 'agents to talk to, tried in order'
complete -c dmq -l timeout -r -d 'give up on agents silent for DUR'
complete -c dmq -s h -l help -d 'print help and exit'
complete -c dmq -l version -d 'print the version and exit'

# Commands.
complete -c dmq -n '__dmq_using ""' -a queue \
    -d 'create, inspect, change and delete queues'
complete -c dmq -n '__dmq_using ""' -a send \
    -d 'send messages from an argument or stdin'
complete -c dmq -n '__dmq_using ""' -a receive \
    -d 'receive messages, print or hand them to a command'
complete -c dmq -n '__dmq_using ""' -a peek \
    -d 'show messages without receiving them'
complete -c dmq -n '__dmq_using ""' -a show \
    -d "show one message's state and fields by its id"
complete -c dmq -n '__dmq_using ""' -a ack \
    -d 'delete received messages by receipt'
complete -c dmq -n '__dmq_using ""' -a release \
    -d 'make received messages visible again'
complete -c dmq -n '__dmq_using ""' -a extend \
    -d 'keep received messages invisible for longer'
complete -c dmq -n '__dmq_using ""' -a health \
    -d 'check that every agent answers'
complete -c dmq -n '__dmq_using ""' -a stats \
    -d 'show message counters per queue'
complete -c dmq -n '__dmq_using queue' -a create -d 'create a queue'
complete -c dmq -n '__dmq_using queue' -a list \
    -d 'list queues, one name per line'
complete -c dmq -n '__dmq_using queue' -a info \
    -d "show a queue's counts and settings"
complete -c dmq -n '__dmq_using queue' -a update \
    -d "change a queue's settings"
complete -c dmq -n '__dmq_using queue' -a delete -d 'delete a queue'
complete -c dmq -n '__dmq_using queue' -a purge \
    -d 'delete every message of a queue'
complete -c dmq -n '__dmq_using queue' -a redrive \
    -d 'move messages out of a dead-letter queue'

# Queue names.
complete -c dmq -n __dmq_wants_queue -a '(__dmq_queue_names)' -d queue

# queue create and queue update.
for cmd in 'queue create' 'queue update'
    complete -c dmq -n "__dmq_using $cmd" -l visibility -r \
        -d 'hide a received message for DUR unless acked'
    complete -c dmq -n "__dmq_using $cmd" -l retention -r \
        -d 'drop messages older than DUR'
    complete -c dmq -n "__dmq_using $cmd" -l max-size -r \
        -d 'refuse bodies larger than BYTES'
    complete -c dmq -n "__dmq_using $cmd" -l delay -r \
        -d 'keep each new message invisible for DUR'
    complete -c dmq -n "__dmq_using $cmd" -l dlq -x \
        -a '(__dmq_queue_names)' -d 'dead-letter queue'
    complete -c dmq -n "__dmq_using $cmd" -l max-receives -r \
        -d 'deliveries before the dead-letter queue'
    complete -c dmq -n "__dmq_using $cmd" -l dedup-window -r \
        -d 'remember dedup ids for DUR'
    complete -c dmq -n "__dmq_using $cmd" -l content-dedup \
        -d 'dedup FIFO messages by their body'
end
complete -c dmq -n '__dmq_using queue create' -l fifo \
    -d 'make a FIFO queue'
complete -c dmq -n '__dmq_using queue update' -l no-dlq \
    -d 'remove the dead-letter queue'
complete -c dmq -n '__dmq_using queue update' -l no-content-dedup \
    -d 'stop deduping by body'

# queue redrive.
complete -c dmq -n '__dmq_using queue redrive' -l to -x \
    -a '(__dmq_queue_names)' -d 'move every message to QUEUE'
complete -c dmq -n '__dmq_using queue redrive' -s n -l max -r \
    -d 'stop after moving N messages'
complete -c dmq -n '__dmq_using queue redrive' -l rate -r \
    -d 'move at most PER_SECOND messages a second'

# queue list, info and delete.
complete -c dmq -n '__dmq_using queue list' -s l -l long \
    -d 'print counts as a table'
complete -c dmq -n '__dmq_using queue delete' -s f -l force \
    -d 'delete even if it holds messages'

# --format, wherever it is taken.
for cmd in 'queue list' 'queue info' 'queue redrive' send receive peek \
    show health stats
    complete -c dmq -n "__dmq_using $cmd" -l format -x -a 'text json' \
        -d 'output format'
end

# send.
complete -c dmq -n '__dmq_using send' -s l -l lines \
    -d 'one message per line'
complete -c dmq -n '__dmq_using send' -s 0 -l null \
    -d 'one message per NUL-terminated record'
complete -c dmq -n '__dmq_using send' -l delay -r \
    -d 'keep the messages invisible for DUR'
complete -c dmq -n '__dmq_using send' -l attr -r \
    -d 'add attribute KEY=VALUE to every message'
complete -c dmq -n '__dmq_using send' -l group -r \
    -d 'FIFO queues: the message group'
complete -c dmq -n '__dmq_using send' -l dedup-id -r \
    -d 'store no repeat of ID'
complete -c dmq -n '__dmq_using send' -l priority -x \
    -a '0 1 2 3 4 5 6 7 8 9' -d '0 (first) to 9'
complete -c dmq -n '__dmq_using send' -s q -l quiet \
    -d 'do not print the message ids'

# receive and peek.
for cmd in receive peek
    complete -c dmq -n "__dmq_using $cmd" -s n -l max -r \
        -d 'take up to N messages'
    complete -c dmq -n "__dmq_using $cmd" -s 0 -l null \
        -d 'end each body with NUL'
    complete -c dmq -n "__dmq_using $cmd" -l raw \
        -d 'print one body as is'
end
complete -c dmq -n '__dmq_using receive' -l wait -r \
    -d 'wait up to DUR for a message'
complete -c dmq -n '__dmq_using receive' -l visibility -r \
    -d 'hide the received messages for DUR'
complete -c dmq -n '__dmq_using receive' -s d -l delete \
    -d 'ack each message once written'
complete -c dmq -n '__dmq_using receive' -l exec -x \
    -a '(__fish_complete_command)' \
    -d 'run CMD for each message'
complete -c dmq -n '__dmq_using receive' -s f -l follow \
    -d 'keep receiving until SIGINT or SIGTERM'

# release and extend.
complete -c dmq -n '__dmq_using release' -l delay -r \
    -d 'make them visible only after DUR'
complete -c dmq -n '__dmq_using extend' -l visibility -r \
    -d 'keep them invisible for DUR from now'

# bash completion for dmq, the dmq message queue CLI.
# Install as /usr/share/bash-completion/completions/dmq, or source it.
# Queue names come from `dmq queue list` (errors are ignored). Every
# command and option of `dmq __spec` must be here; tests/cmd/check_docs.sh
# checks that by running the completion.

# Commands under each group, by the command path typed so far.
declare -gA _dmq_commands=(
    [dmq]="queue send receive peek show ack release extend health stats"
    [dmq queue]="create list info update delete purge redrive"
)

# Options of each command, global ones apart.
declare -gA _dmq_options=(
    [dmq queue]=""
    [dmq queue create]="--fifo --visibility --retention --max-size --delay
        --dlq --max-receives --dedup-window --content-dedup"
    [dmq queue list]="-l --long --format"
    [dmq queue info]="--format"
    [dmq queue update]="--visibility --retention --max-size --delay --dlq
        --no-dlq --max-receives --dedup-window --content-dedup
        --no-content-dedup"
    [dmq queue delete]="-f --force"
    [dmq queue purge]=""
    [dmq queue redrive]="--to -n --max --rate --format"
    [dmq send]="-l --lines -0 --null --delay --attr --group --dedup-id
        --priority -q --quiet --format"
    [dmq receive]="-n --max --wait --visibility -0 --null --raw --format
        -d --delete --exec -f --follow"
    [dmq peek]="-n --max -0 --null --raw --format"
    [dmq show]="--format"
    [dmq ack]=""
    [dmq release]="--delay"
    [dmq extend]="--visibility"
    [dmq health]="--format"
    [dmq stats]="--format"
)

_dmq_global_options="--agents --timeout -h --help --version"

# Options that take a value, so the word after them is not an argument.
_dmq_value_options=" --agents --timeout --visibility --retention --max-size
    --delay --attr --format -n --max --wait --exec --dlq --max-receives
    --dedup-window --to --rate --group --dedup-id --priority "

# Commands whose first argument is a queue name.
_dmq_queue_commands=" dmq queue create dmq queue info dmq queue update
    dmq queue delete dmq queue purge dmq queue redrive dmq send dmq receive
    dmq peek dmq show dmq ack dmq release dmq extend dmq stats "

_dmq_queue_names() {
    # Talk to the same agents as the command being typed, but never wait
    # long: a completion that hangs is worse than none.
    local -a globals=(--timeout 1s)
    [[ -n $_dmq_agents ]] && globals+=(--agents "$_dmq_agents")
    dmq "${globals[@]}" queue list 2>/dev/null
}

_dmq() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    local path=dmq word i args=0
    _dmq_agents=""

    # Find the command typed so far and count its arguments.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $_dmq_value_options == *" $word "* ]]; then
            [[ $word == --agents ]] && _dmq_agents=${COMP_WORDS[i + 1]}
            ((i++))
        elif [[ $word == --agents=* ]]; then
            _dmq_agents=${word#--agents=}
        elif [[ $word == -* ]]; then
            :
        elif ((args == 0)) &&
            [[ " ${_dmq_commands[$path]} " == *" $word "* ]]; then
            path="$path $word"
        else
            ((args++))
        fi
    done

    case $prev in
    --format)
        COMPREPLY=($(compgen -W "text json" -- "$cur"))
        return
        ;;
    --exec)
        COMPREPLY=($(compgen -c -- "$cur"))
        return
        ;;
    --priority)
        COMPREPLY=($(compgen -W "0 1 2 3 4 5 6 7 8 9" -- "$cur"))
        return
        ;;
    --dlq | --to)
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(_dmq_queue_names)" -- "$cur"))
        return
        ;;
    --agents | --timeout | --visibility | --retention | --max-size | \
        --delay | --attr | -n | --max | --wait | --max-receives | \
        --dedup-window | --rate | --group | --dedup-id)
        return
        ;;
    esac

    if [[ $cur == -* ]]; then
        local options="$_dmq_global_options ${_dmq_options[$path]}"
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
    elif [[ -n ${_dmq_commands[$path]+set} ]] && ((args == 0)); then
        COMPREPLY=($(compgen -W "${_dmq_commands[$path]}" -- "$cur"))
    elif ((args == 0)) && [[ $_dmq_queue_commands == *" $path "* ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(_dmq_queue_names)" -- "$cur"))
    fi
}

complete -F _dmq dmq

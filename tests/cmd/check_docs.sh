#!/bin/bash
# Checks that the man page and the bash, zsh and fish completions cover
# every command and option of the dmq CLI, as `dmq __spec` lists them from
# the CLI's own definition (one line per command: its path, then its
# options). The man page must document each option in its command's
# section; each shell is asked for completions as it would be by a user
# (zsh through a pty, by zsh_complete.zsh), and must offer every command
# and option, and queue names from `dmq queue list`. The zsh and fish parts
# are skipped, with a note, where those shells are not installed. Also
# checks that every command's --help fits in 80 columns.
#
# Usage: check_docs.sh PATH/TO/dmq SOURCE_DIR

set -u
dmq=$1
root=$2
failures=0

problem() {
    echo "check_docs: $*" >&2
    failures=$((failures + 1))
}

spec=$("$dmq" __spec) || {
    echo "check_docs: '$dmq __spec' failed" >&2
    exit 1
}

# The words of a spec line that are command names, and those that are
# options ("dmq queue create --visibility ..." -> "queue create").
command_of() {
    local word out=""
    for word in $1; do
        [[ $word == dmq || $word == -* ]] && continue
        out="${out:+$out }$word"
    done
    echo "$out"
}

options_of() {
    local word
    for word in $1; do
        [[ $word == -* ]] && echo "$word"
    done
}

# True when option $1 appears as a whole word in stdin.
mentions_option() {
    grep -qE -e "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|\$)"
}

# --- man page -------------------------------------------------------------

man_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' \
    "$root/man/dmq.1")

# The man section of a command: from its .SS heading to the next heading.
# The global options have a section of their own.
man_section() {
    if [[ -z $1 ]]; then
        awk '/^\.SH GLOBAL OPTIONS/ { on = 1; next }
             /^\.S[HS]/ { on = 0 } on' <<<"$man_text"
    else
        awk -v path="$1" '
            index($0, ".SS \"" path) == 1 {
                rest = substr($0, length(".SS \"" path) + 1)
                if (rest ~ /^[" ]/) { on = 1; next }
            }
            /^\.S[HS]/ { on = 0 } on' <<<"$man_text"
    fi
}

check_man() {
    if command -v man >/dev/null; then
        local warnings
        warnings=$(MANWIDTH=80 man --warnings -l "$root/man/dmq.1" 2>&1 \
            >/dev/null)
        [[ -z $warnings ]] ||
            problem "man/dmq.1 renders with warnings: $warnings"
    fi
    local line command option section
    while read -r line; do
        command=$(command_of "$line")
        section=$(man_section "$command")
        if [[ -z $section ]]; then
            problem "man/dmq.1 has no section for 'dmq $command'"
            continue
        fi
        for option in $(options_of "$line"); do
            if [[ -n $command && ($option == -h || $option == --help) ]]; then
                continue  # documented once, with the global options
            fi
            mentions_option "$option" <<<"$section" ||
                problem "man/dmq.1 does not document '$option' of" \
                    "'dmq $command'"
        done
    done <<<"$spec"
}

# --- bash -----------------------------------------------------------------

# Completions bash offers for the words given (the last one is the word
# being completed), with `dmq queue list` answering "alpha" and "beta".
bash_complete() {
    bash -c '
        source "$1"
        dmq() { local IFS=" "; [[ "$*" == *"queue list"* ]] &&
            printf "alpha\nbeta\n"; }
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMPREPLY=()
        _dmq
        printf "%s\n" "${COMPREPLY[@]}"
    ' bash "$root/completions/dmq.bash" "$@"
}

check_bash() {
    local line command option offered parent
    while read -r line; do
        command=$(command_of "$line")
        offered=$(bash_complete dmq $command -)
        for option in $(options_of "$line"); do
            grep -qxe "$option" <<<"$offered" ||
                problem "bash completion does not offer '$option' for" \
                    "'dmq $command'"
        done
        [[ -z $command ]] && continue
        parent=${command% *}
        [[ $parent == "$command" ]] && parent=""
        bash_complete dmq $parent "" | grep -qx "${command##* }" ||
            problem "bash completion does not offer command 'dmq $command'"
    done <<<"$spec"
    bash_complete dmq send "" | grep -qx alpha ||
        problem "bash completion does not offer queue names from" \
            "'dmq queue list'"
}

# --- fish -----------------------------------------------------------------

fish_complete() {
    fish -c '
        source $argv[1]
        function dmq
            string match -q "*queue list*" -- "$argv"
            and printf "alpha\nbeta\n"
        end
        complete -C"$argv[2]" | string replace -r "\t.*" ""
    ' "$root/completions/dmq.fish" "$1"
}

check_fish() {
    if ! command -v fish >/dev/null; then
        echo "check_docs: fish is not installed; fish completion not checked"
        return
    fi
    fish -n "$root/completions/dmq.fish" ||
        problem "completions/dmq.fish has a syntax error"
    local line command option offered parent
    while read -r line; do
        command=$(command_of "$line")
        offered=$(fish_complete "dmq ${command:+$command }-")
        for option in $(options_of "$line"); do
            grep -qxe "$option" <<<"$offered" ||
                problem "fish completion does not offer '$option' for" \
                    "'dmq $command'"
        done
        [[ -z $command ]] && continue
        parent=${command% *}
        [[ $parent == "$command" ]] && parent=""
        fish_complete "dmq ${parent:+$parent }" | grep -qx "${command##* }" ||
            problem "fish completion does not offer command 'dmq $command'"
    done <<<"$spec"
    fish_complete "dmq send " | grep -qx alpha ||
        problem "fish completion does not offer queue names from" \
            "'dmq queue list'"
}

# --- zsh ------------------------------------------------------------------

# Each completion query and what zsh offered for it, from one interactive
# zsh driven through a pty by zsh_complete.zsh.
zsh_answers=""

zsh_complete() {
    awk -v query="== $1" '
        $0 == query { on = 1; next }
        /^== / { on = 0 }
        on' <<<"$zsh_answers"
}

check_zsh() {
    if ! command -v zsh >/dev/null; then
        echo "check_docs: zsh is not installed; zsh completion not checked"
        return
    fi
    zsh -n "$root/completions/_dmq" ||
        problem "completions/_dmq has a syntax error"

    local line command option parent queries=""
    while read -r line; do
        command=$(command_of "$line")
        parent=${command% *}
        [[ $parent == "$command" ]] && parent=""
        queries+="dmq ${command:+$command }-"$'\n'
        [[ -n $command ]] && queries+="dmq ${parent:+$parent }"$'\n'
    done <<<"$spec"
    queries+="dmq send "$'\n'
    zsh_answers=$(timeout 120 zsh -f "$root/tests/cmd/zsh_complete.zsh" \
        "$root/completions" <<<"$queries")

    while read -r line; do
        command=$(command_of "$line")
        for option in $(options_of "$line"); do
            zsh_complete "dmq ${command:+$command }-" | grep -qxe "$option" ||
                problem "zsh completion does not offer '$option' for" \
                    "'dmq $command'"
        done
        [[ -z $command ]] && continue
        parent=${command% *}
        [[ $parent == "$command" ]] && parent=""
        zsh_complete "dmq ${parent:+$parent }" | grep -qx "${command##* }" ||
            problem "zsh completion does not offer command 'dmq $command'"
    done <<<"$spec"
    zsh_complete "dmq send " | grep -qx alpha ||
        problem "zsh completion does not offer queue names from" \
            "'dmq queue list'"
}

# --- --help ---------------------------------------------------------------

check_help() {
    local line command
    while read -r line; do
        command=$(command_of "$line")
        "$dmq" $command --help | awk -v c="dmq $command" 'length > 80 {
            print "check_docs: dmq " c " --help: line over 80 columns: " $0
            bad = 1 } END { exit bad }' >&2 ||
            problem "'dmq $command --help' does not fit in 80 columns"
    done <<<"$spec"
}

check_help
check_man
check_bash
check_fish
check_zsh

if ((failures > 0)); then
    echo "check_docs: $failures problems" >&2
    exit 1
fi
echo "check_docs: man page and completions cover all" \
    "$(wc -l <<<"$spec") commands"

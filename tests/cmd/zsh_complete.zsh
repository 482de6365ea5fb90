# Asks zsh, as an interactive user's shell would, what it offers to
# complete. Reads one command line per line of stdin and prints, for each,
# "== LINE" followed by the words zsh listed, one per line. `dmq queue
# list` answers "alpha" and "beta". Used by check_docs.sh.
#
# Usage: zsh -f zsh_complete.zsh COMPLETIONS_DIR < queries

zmodload zsh/zpty
setopt extendedglob

# Reads what the pty prints up to the output of `print @@END@@` (typed as
# @@E''ND@@ so that its echo does not match), into REPLY.
sync() {
    zpty -w z "print @@E''ND@@"
    REPLY=""
    local chunk
    while zpty -r z chunk; do
        REPLY+=$chunk
        [[ $REPLY == *@@END@@* ]] && return
    done
}

# Reads what the pty prints until it has been quiet for a moment, into
# REPLY. Completion lists are only drawn when no keys are waiting, so the
# next key must wait for this.
read_until_quiet() {
    REPLY=""
    local chunk quiet=0
    while ((quiet < 4)); do
        if zpty -r -t z chunk; then
            REPLY+=$chunk
            quiet=0
        else
            sleep 0.03
            ((quiet++))
        fi
    done
}

zpty z zsh -f -i
zpty -w z "PS1='@P@'; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "dmq() { [[ \$* == *'queue list'* ]] && print -l alpha beta }"
zpty -w z "zstyle ':completion:*' list-prompt ''; LISTMAX=10000"
zpty -w z "setopt nobeep; bindkey '^I' list-choices"
zpty -w z "bindkey '^U' kill-whole-line"
sync

local query line
while IFS= read -r query; do
    zpty -w -n z "$query"$'\t'
    read_until_quiet
    local listing=$REPLY
    zpty -w -n z $'\C-u'
    sync
    print -r -- "== $query"
    # Drop colours and cursor moves, then keep the listed words: those
    # before " -- " (a description) on each line, and before the prompt
    # that is redrawn after the list.
    for line in ${(f)${listing//$'\e'\[[0-9;?]#[A-Za-z]/}}; do
        line=${${${line//$'\r'/}//$'\b'/}%%@P@*}
        print -l -- ${=line%% -- *}
    done
done
zpty -d z

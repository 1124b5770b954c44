# The one test runner, sourced by each library's run script (sh or bash):
#
#   . tests/harness/runner.sh
#   harness_begin NAME           NAME prefixes the closing line
#   run TEST_NAME CMD ARGS...    one test: passes when CMD exits 0 and its last
#                                "RESULT p f" line (if it prints one) has f = 0;
#                                exit 77 counts as skipped. CMD may be a shell function.
#   pass NAME [NOTE]             for checks done in shell
#   fail NAME [WHY]
#   skip NAME [WHY]
#   xfail NAME [WHY]             a known failure of a reference library: counted as skipped
#   harness_selected NAME        true when T selects NAME (for checks done in shell)
#   harness_end                  prints the names that failed, then
#                                "NAME: N passed, M failed[, K skipped]"; returns
#                                non-zero when anything failed
#
# Output: one line per test, "ok   NAME", "FAIL NAME: WHY" (then the test's output,
# without its "check: " step lines), "skip NAME: WHY" or "XFAIL NAME: WHY".
#
# T=pattern (a shell glob, also from `make test T=...`) runs only the tests whose
# names match it, or equal it; passes and skips of other names are not counted
# (failures always are).
harness_begin() {
    harness_name=$1
    harness_passed=0
    harness_failed=0
    harness_skipped=0
    harness_failed_names=
    harness_log=$(mktemp)
}

harness_selected() {
    [ -z "${T:-}" ] && return 0
    [ "$1" = "$T" ] && return 0 # names with [...] in them, given whole
    # shellcheck disable=SC2254  # T is a glob on purpose
    case "$1" in $T) return 0 ;; esac
    return 1
}

pass() {
    harness_selected "$1" || return 0
    harness_passed=$((harness_passed + 1))
    echo "ok   $1${2:+ ($2)}"
}
fail() {
    harness_failed=$((harness_failed + 1))
    harness_failed_names="$harness_failed_names${harness_failed_names:+, }$1"
    echo "FAIL $1${2:+: $2}"
}
skip() {
    harness_selected "$1" || return 0
    harness_skipped=$((harness_skipped + 1))
    echo "skip $1${2:+: $2}"
}
xfail() {
    harness_selected "$1" || return 0
    harness_skipped=$((harness_skipped + 1))
    echo "XFAIL $1${2:+: $2}"
}

# harness_status RC: an exit status in words.
harness_status() {
    case $1 in
    124) echo "timed out" ;;
    129 | 13[0-9] | 14[0-9] | 15[0-9]) echo "killed by signal $(($1 - 128))" ;;
    *) echo "exit $1" ;;
    esac
}

run() {
    harness_run_name=$1
    shift
    harness_selected "$harness_run_name" || return 0
    "$@" >"$harness_log" 2>&1
    harness_rc=$?
    harness_res=$(sed -n 's/^RESULT \([0-9]*\) \([0-9]*\)$/\2/p' "$harness_log" | tail -1)
    if [ $harness_rc -eq 77 ]; then
        skip "$harness_run_name" "$(tail -1 "$harness_log")"
    elif [ $harness_rc -ne 0 ] || [ "${harness_res:-0}" -ne 0 ]; then
        fail "$harness_run_name" "$(harness_status $harness_rc)${harness_res:+, $harness_res checks failed}"
        # the step it was at, when it crashed or hung
        [ $harness_rc -gt 123 ] && grep '^check: ' "$harness_log" | tail -1 | sed 's/^/    last /'
        grep -v '^check: ' "$harness_log" | head -30 | sed 's/^/    /'
    else
        pass "$harness_run_name"
    fi
    return 0
}

harness_end() {
    rm -f "$harness_log"
    [ -n "$harness_failed_names" ] && echo "failed: $harness_failed_names"
    harness_line="$harness_name: $harness_passed passed, $harness_failed failed"
    [ "$harness_skipped" -gt 0 ] && harness_line="$harness_line, $harness_skipped skipped"
    echo "$harness_line"
    [ "$harness_failed" -eq 0 ]
}

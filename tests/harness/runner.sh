# The one test runner, sourced by each library's run script:
#
#   . tests/harness/runner.sh
#   harness_begin NAME           NAME prefixes the closing line
#   run TEST_NAME CMD ARGS...    one test: passes when CMD exits 0 and its last
#                                "RESULT p f" line (if it prints one) has f = 0;
#                                exit 77 counts as skipped
#   pass NAME / fail NAME WHY / skip NAME WHY   for checks done in shell
#   harness_end                  prints "NAME: N passed, M failed[, K skipped]" and
#                                returns non-zero when anything failed
#
# T=pattern (a shell glob, also from `make test T=...`) runs only the tests whose
# names match; the others are not counted.
harness_begin() {
    harness_name=$1
    harness_passed=0
    harness_failed=0
    harness_skipped=0
    harness_log=$(mktemp)
}

harness_selected() {
    [ -z "${T:-}" ] && return 0
    case "$1" in $T) return 0 ;; esac
    return 1
}

pass() { harness_passed=$((harness_passed + 1)); echo "ok   $1"; }
fail() { harness_failed=$((harness_failed + 1)); echo "FAIL $1${2:+: $2}"; }
skip() { harness_skipped=$((harness_skipped + 1)); echo "skip $1${2:+: $2}"; }

run() {
    name=$1
    shift
    harness_selected "$name" || return 0
    "$@" >"$harness_log" 2>&1
    rc=$?
    res=$(sed -n 's/^RESULT \([0-9]*\) \([0-9]*\)$/\2/p' "$harness_log" | tail -1)
    if [ $rc -eq 77 ]; then
        skip "$name" "$(tail -1 "$harness_log")"
    elif [ $rc -ne 0 ] || [ "${res:-0}" -ne 0 ]; then
        fail "$name" "exit $rc${res:+, $res checks failed}"
        sed 's/^/    /' "$harness_log" | grep -v '^    check: ' | head -30
    else
        pass "$name"
    fi
}

harness_end() {
    rm -f "$harness_log"
    line="$harness_name: $harness_passed passed, $harness_failed failed"
    [ "$harness_skipped" -gt 0 ] && line="$line, $harness_skipped skipped"
    echo "$line"
    [ "$harness_failed" -eq 0 ]
}

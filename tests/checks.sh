# checks.sh — the checks every shell test shares (sourced: `. "$(dirname "$0")/checks.sh"`
# after setting OUT and ERR, the files a command's stdout and stderr go to). A script may
# set FAIL_TAG (shown after "FAIL") and FAIL_MORE (a command run to print more on failure),
# and defines its own `run` on top of run_cmd when its commands share a prefix.

PASSED=0
LAST=
RC=

# fail MESSAGE: the failed check, the last command, its status and output; exit 1.
fail() {
    echo "FAIL${FAIL_TAG:+ ($FAIL_TAG)}: $*" >&2
    echo "  command: $LAST" >&2
    echo "  exit status: $RC" >&2
    echo "  stdout (start):" >&2
    head -c 2500 "$OUT" 2>/dev/null | sed 's/^/    /' >&2
    echo "  stderr (start):" >&2
    head -c 3000 "$ERR" 2>/dev/null | sed 's/^/    /' >&2
    if [ -n "${FAIL_MORE:-}" ]; then $FAIL_MORE >&2; fi
    echo "$PASSED passed, 1 failed" >&2
    exit 1
}
pass() { PASSED=$((PASSED + 1)); }

# run_cmd COMMAND...: runs it; RC, stdout in $OUT, stderr in $ERR.
run_cmd() {
    LAST="$*"
    "$@" >"$OUT" 2>"$ERR"
    RC=$?
}
expect_rc() { [ "$RC" -eq "$1" ] || fail "expected exit status $1"; pass; }
expect_out() { grep -F -q -- "$1" "$OUT" || fail "stdout lacks: $1"; pass; }
expect_err() { grep -F -q -- "$1" "$ERR" || fail "stderr lacks: $1"; pass; }
# A usage error: exit status 2 and one line on stderr (each suite checks the line's words).
expect_usage_rc() {
    expect_rc 2
    [ "$(wc -l <"$ERR" | tr -d ' ')" -eq 1 ] || fail "a usage error should be one line on stderr"
    pass
}

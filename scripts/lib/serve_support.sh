# Shared by scripts/load-test and scripts/browser-check (sourced, not run).
# Builds `rlhf` (unless RLHF_BIN is set), starts `rlhf serve` on a free loopback port and exports
# SERVER_PID, SERVER_URL. The caller stops the server with stop_server.

build_rlhf() {
    if [ -n "${RLHF_BIN:-}" ]; then return; fi
    local scratch="${RLHF_SCRATCH:-.build-serve}"
    swift build --scratch-path "$scratch" --product rlhf >&2
    RLHF_BIN="$(swift build --scratch-path "$scratch" --show-bin-path)/rlhf"
}

# start_server LOGFILE ARGS... : runs `rlhf serve --port 0 ARGS` and waits for its address.
start_server() {
    local log="$1"; shift
    "$RLHF_BIN" serve --host 127.0.0.1 --port 0 "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        SERVER_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
        if [ -n "$SERVER_URL" ]; then return 0; fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited:" >&2; cat "$log" >&2; return 1
        fi
        sleep 0.1
    done
    echo "server did not start in 30 s:" >&2; cat "$log" >&2
    return 1
}

stop_server() {
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
}

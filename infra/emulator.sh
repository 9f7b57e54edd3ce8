#!/usr/bin/env bash
# The local AWS endpoint (moto_server) for `make local` and the integration tests.
#
#   infra/emulator.sh start   - use $AWS_ENDPOINT_URL if set and answering; otherwise make sure
#                               moto_server answers on http://127.0.0.1:4566 (starting it if
#                               nothing listens there). Idempotent.
#   infra/emulator.sh stop    - stop the moto_server this script started (pid in .local/moto.pid).
#   infra/emulator.sh status  - say whether the endpoint answers; exit 0 if it does, 1 if not.
#
# Logs: .local/moto.log (rewritten on each start). Works from any cwd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly HOST=127.0.0.1
readonly PORT=4566
readonly URL="http://$HOST:$PORT"
readonly STATE_DIR=.local
readonly PID_FILE="$STATE_DIR/moto.pid"
readonly LOG_FILE="$STATE_DIR/moto.log"
readonly PYTHON=infra/.venv/bin/python
# The stock moto app with DynamoDB requests serialised and two of its DynamoDB costs removed
# (see the file for why).
readonly MOTO=infra/moto_server.py
readonly START_TIMEOUT_S=30

die() {
    echo "infra/emulator.sh: $*" >&2
    exit 1
}

# True if an HTTP server answers at $1 (any status code counts as answering).
answers() {
    local code
    code="$(curl --silent --output /dev/null --max-time 2 --write-out '%{http_code}' "$1" 2>/dev/null || true)"
    [[ -n "$code" && "$code" != 000 ]]
}

# True if something accepts TCP connections on HOST:PORT.
listening() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

# Prints the pid from PID_FILE if that process is running and is our moto_server on PORT.
our_pid() {
    local pid args
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    [[ -n "$pid" ]] || return 1
    args="$(ps -o args= -p "$pid" 2>/dev/null)" || return 1
    [[ "$args" == *moto_server* && "$args" == *"-p $PORT"* ]] || return 1
    echo "$pid"
}

tail_log() {
    if [[ -s "$LOG_FILE" ]]; then
        echo "--- last lines of $LOG_FILE ---" >&2
        tail -n 20 "$LOG_FILE" >&2
    fi
}

# Waits until URL answers; fails early if pid $1 (when given) exits. With $2 = "own", a pid
# that never answers is stopped on timeout (it was started by this very call).
wait_until_answers() {
    local pid="${1:-}" own="${2:-}" deadline=$((SECONDS + START_TIMEOUT_S))
    until answers "$URL"; do
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            tail_log
            die "moto_server (pid $pid) exited before answering on $URL"
        fi
        if ((SECONDS >= deadline)); then
            tail_log
            if [[ "$own" == own && -n "$pid" ]]; then
                kill "$pid" 2>/dev/null || true
                rm -f "$PID_FILE"
            fi
            die "nothing answered on $URL within ${START_TIMEOUT_S}s"
        fi
        sleep 0.2
    done
}

cmd_start() {
    if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
        if answers "$AWS_ENDPOINT_URL"; then
            echo "using AWS endpoint $AWS_ENDPOINT_URL"
            return 0
        fi
        if [[ "${AWS_ENDPOINT_URL%/}" != "$URL" ]]; then
            echo "infra/emulator.sh: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL does not answer;" \
                "starting moto_server on $URL instead (point AWS_ENDPOINT_URL there)" >&2
        fi
    fi

    local pid
    if listening; then
        # Already up: ours from an earlier start, or someone else's endpoint on the port.
        if pid="$(our_pid)"; then
            wait_until_answers "$pid"
            echo "moto_server on $URL (pid $pid)"
        else
            answers "$URL" || die "port $PORT on $HOST is taken by something that does not answer HTTP"
            echo "AWS endpoint already on $URL (not started by infra/emulator.sh)"
        fi
        return 0
    fi

    bash infra/venv.sh >/dev/null
    [[ -x "$PYTHON" ]] || die "$PYTHON missing after infra/venv.sh"
    mkdir -p "$STATE_DIR"
    nohup "$PYTHON" "$MOTO" -H "$HOST" -p "$PORT" </dev/null >"$LOG_FILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"
    wait_until_answers "$pid" own
    echo "moto_server on $URL (pid $pid)"
}

cmd_stop() {
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PID_FILE"
        echo "moto_server not running (nothing started by infra/emulator.sh)"
        return 0
    fi
    kill "$pid"
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    rm -f "$PID_FILE"
    echo "moto_server stopped (pid $pid)"
}

cmd_status() {
    local url="${AWS_ENDPOINT_URL:-$URL}" pid
    if answers "$url"; then
        if [[ "${url%/}" == "$URL" ]] && pid="$(our_pid)"; then
            echo "$url answers (moto_server pid $pid)"
        else
            echo "$url answers"
        fi
        return 0
    fi
    echo "$url does not answer"
    return 1
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Creates infra/.venv (if missing) and installs infra/requirements.txt into it, only when the
# requirements changed since the last successful install. Idempotent; safe from any cwd.
# Prints one status line on success; pip's output is shown only if the install fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=infra/.venv
req=infra/requirements.txt
stamp="$venv/.requirements.sha256"

hash_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ ! -x "$venv/bin/python" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi

want="$(hash_of "$req")"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "infra/.venv up to date"
    exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --quiet --requirement "$req" >"$log" 2>&1; then
    cat "$log" >&2
    echo "infra/venv.sh: pip install -r $req failed" >&2
    exit 1
fi
echo "$want" >"$stamp"
echo "infra/.venv installed from $req"

#!/usr/bin/env bash
# Creates a virtualenv (if missing) and installs a requirements file into it, only when the
# requirements changed since the last successful install. Idempotent; safe from any cwd.
# Prints one status line on success; pip's output is shown only if the install fails.
#
#   bash infra/venv.sh                      infra/.venv from infra/requirements.txt (emulator, cfn-lint)
#   bash infra/venv.sh <venv> <requirements> another venv (the SAM CLI and cargo-lambda: make package)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="${1:-infra/.venv}"
req="${2:-infra/requirements.txt}"
stamp="$venv/.requirements.sha256"

# The requirements and the files they include (`-r other.txt`, relative to the file).
hash_of() {
    local dir included
    dir="$(dirname "$1")"
    included="$(sed -n 's/^-r[[:space:]]*//p' "$1" | sed "s|^|$dir/|")"
    # shellcheck disable=SC2086
    cat "$1" $included | sha256sum | cut -d' ' -f1
}

if [[ ! -x "$venv/bin/python" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi

want="$(hash_of "$req")"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$venv up to date"
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
echo "$venv installed from $req"

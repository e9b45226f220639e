#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh machine: installs what the tests need
# into a project-local virtualenv (pinned), starts the local AWS stand-in on loopback, then
# formatting, lints, docs, the benchmark build, and all tests (unit, integration, doctests,
# trybuild).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS=("cargo-lambda==1.9.2" "moto[server]==5.2.5")

if [ ! -f .venv/.svless-requirements ] || [ "$(cat .venv/.svless-requirements)" != "${REQUIREMENTS[*]}" ]; then
  echo "==> installing ${REQUIREMENTS[*]} into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
  echo "${REQUIREMENTS[*]}" > .venv/.svless-requirements
fi
export SVLESS_CARGO_LAMBDA="$PWD/.venv/bin/cargo-lambda"

# The moto server: DynamoDB, DynamoDB Streams, S3 and Cognito on one loopback port.
MOTO_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
.venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" > target-moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; rm -f target-moto.log' EXIT
moto_ready() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$MOTO_PORT/moto-api/')" 2>/dev/null; }
for _ in $(seq 1 100); do
  moto_ready && break
  sleep 0.1
done
moto_ready || { echo "the moto server did not start:"; cat target-moto.log; exit 1; }
export SVLESS_MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
echo "==> moto server on $SVLESS_MOTO_ENDPOINT"

# The test user pool's key set, served by a plain static HTTP server on loopback.
JWKS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
python3 -m http.server --bind 127.0.0.1 "$JWKS_PORT" --directory tests/fixtures/jwks > /dev/null 2>&1 &
JWKS_PID=$!
trap 'kill "$MOTO_PID" "$JWKS_PID" 2>/dev/null || true; rm -f target-moto.log' EXIT
jwks_ready() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$JWKS_PORT/jwks.json')" 2>/dev/null; }
for _ in $(seq 1 100); do
  jwks_ready && break
  sleep 0.1
done
jwks_ready || { echo "the JWKS server did not start"; exit 1; }
export SVLESS_JWKS_URL="http://127.0.0.1:$JWKS_PORT/jwks.json"

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

echo "==> cargo bench --no-run"
cargo bench --workspace --no-run --locked

echo "==> cargo test"
cargo test --workspace --locked

#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh machine: installs what the tests need
# into a project-local virtualenv (pinned), starts the local AWS stand-in on loopback, then
# formatting, lints, docs, the benchmarks' build, and all tests (unit, integration, doctests,
# trybuild).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS=("cargo-lambda==1.9.2" "moto[server]==5.2.5" "ziglang==0.13.0")

if [ ! -f .venv/.svless-requirements ] || [ "$(cat .venv/.svless-requirements)" != "${REQUIREMENTS[*]}" ]; then
  echo "==> installing ${REQUIREMENTS[*]} into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
  echo "${REQUIREMENTS[*]}" > .venv/.svless-requirements
fi
export SVLESS_CARGO_LAMBDA="$PWD/.venv/bin/cargo-lambda"

# The deployment checks' tools, in a virtualenv of their own (aws-sam-cli pins its own boto3):
# cfn-lint and `sam validate --lint` on the example's template, schemathesis on its API.
DEPLOY_REQUIREMENTS=("cfn-lint==1.58.0" "aws-sam-cli==1.170.0" "schemathesis==4.32.5")
if [ ! -f .venv-deploy/.svless-requirements ] || [ "$(cat .venv-deploy/.svless-requirements)" != "${DEPLOY_REQUIREMENTS[*]}" ]; then
  echo "==> installing ${DEPLOY_REQUIREMENTS[*]} into .venv-deploy"
  python3 -m venv .venv-deploy
  .venv-deploy/bin/pip install --quiet --disable-pip-version-check "${DEPLOY_REQUIREMENTS[@]}"
  echo "${DEPLOY_REQUIREMENTS[*]}" > .venv-deploy/.svless-requirements
fi

# The servers the tests talk to, on loopback ports, stopped when this script ends.
PIDS=()
LOGS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -f "${LOGS[@]}"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
# start NAME LOG URL COMMAND...: runs COMMAND in the background and waits until URL answers.
start() {
  local name=$1 log=$2 url=$3
  shift 3
  "$@" > "$log" 2>&1 &
  PIDS+=($!)
  LOGS+=("$log")
  for _ in $(seq 1 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('$url')" 2>/dev/null && { echo "==> $name on $url"; return 0; }
    sleep 0.1
  done
  echo "the $name did not start:"; cat "$log"; exit 1
}

# The moto server: DynamoDB, DynamoDB Streams, S3 and Cognito on one loopback port.
MOTO_PORT=$(free_port)
start "moto server" target-moto.log "http://127.0.0.1:$MOTO_PORT/moto-api/" \
  .venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT"
export SVLESS_MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"

# A second moto server that answers one request at a time, for the tests that need
# DynamoDB's atomic conditional writes under contention (moto's threaded server does not
# make them atomic): see scripts/moto_serial.py.
MOTO_SERIAL_PORT=$(free_port)
start "serial moto server" target-moto-serial.log "http://127.0.0.1:$MOTO_SERIAL_PORT/moto-api/" \
  .venv/bin/python scripts/moto_serial.py 127.0.0.1 "$MOTO_SERIAL_PORT"
export SVLESS_MOTO_SERIAL_ENDPOINT="http://127.0.0.1:$MOTO_SERIAL_PORT"

# A third moto server that executes state machines (Pass, Choice, Parallel, Map, Fail and
# intrinsic functions; never Lambda tasks): the independent interpreter the local Step
# Functions are compared with. Execution is a server-wide setting, so it has its own server.
MOTO_SFN_PORT=$(free_port)
start "executing moto server" target-moto-sfn.log "http://127.0.0.1:$MOTO_SFN_PORT/moto-api/" \
  .venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_SFN_PORT"
python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$MOTO_SFN_PORT/moto-api/config', data=b'{\"stepfunctions\":{\"execute_state_machine\":true}}', headers={'content-type': 'application/json'}, method='POST'))"
export SVLESS_MOTO_SFN_ENDPOINT="http://127.0.0.1:$MOTO_SFN_PORT"

# The test user pool's key set, served by a plain static HTTP server on loopback.
JWKS_PORT=$(free_port)
start "key set server" target-jwks.log "http://127.0.0.1:$JWKS_PORT/jwks.json" \
  python3 -m http.server --bind 127.0.0.1 "$JWKS_PORT" --directory tests/fixtures/jwks
export SVLESS_JWKS_URL="http://127.0.0.1:$JWKS_PORT/jwks.json"

# Headless Chromium driven through ChromeDriver, for the example app's browser test: Debian's
# `chromium` and `chromium-driver` packages (never a browser a test tool downloads).
if ! command -v chromedriver > /dev/null 2>&1 || ! command -v chromium > /dev/null 2>&1; then
  echo "==> installing chromium and chromium-driver"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver > /dev/null
fi
DRIVER_PORT=$(free_port)
start "ChromeDriver" target-chromedriver.log "http://127.0.0.1:$DRIVER_PORT/status" \
  chromedriver --port="$DRIVER_PORT"
export SVLESS_WEBDRIVER_URL="http://127.0.0.1:$DRIVER_PORT"
export SVLESS_CHROMIUM="$(command -v chromium)"

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

# The benchmarks and the bench binaries compiled and linked in the dev profile. A bench-profile
# build would compile the whole dependency tree optimised for this machine and link each of eight
# binaries with fat LTO (about 25 minutes on two cores) to prove the same; the optimised,
# LTO-linked build is checked by the deployment zip's build below. `cargo bench` builds them
# optimised.
echo "==> cargo build --benches"
cargo build --workspace --benches --locked

echo "==> cargo test"
cargo test --workspace --locked

# The deployment: the template linted and validated offline (CI validates, it does not deploy;
# tests/deploy.rs above checked it against the app and evaluated its roles), the API probed from
# its generated definition, and the zip `sam deploy` uploads built and measured.
echo "==> cfn-lint and sam validate --lint: examples/webapp/template.yaml"
.venv-deploy/bin/cfn-lint --include-checks I -- examples/webapp/template.yaml
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .venv-deploy/bin/sam validate --lint \
  --template-file examples/webapp/template.yaml

echo "==> schemathesis: the example app's HTTP API against its generated definition"
scripts/schemathesis.sh target/debug/webapp

echo "==> cargo lambda build: the example app's deployment zip"
# arm64 (as the template deploys) with the `ziglang` linker when the aarch64 standard library
# can be had; otherwise the x86_64 zip, said out loud.
ARCH_FLAG=--arm64
if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
  && ! timeout 180 rustup target add aarch64-unknown-linux-gnu > /dev/null 2>&1; then
  echo "!! the aarch64-unknown-linux-gnu standard library is not installed and cannot be fetched here: building the x86_64 zip instead"
  ARCH_FLAG=--x86-64
fi
PATH="$PWD/.venv/bin:$PATH" .venv/bin/cargo-lambda lambda build -p webapp --release $ARCH_FLAG \
  --no-default-features --output-format zip --locked
ls -l target/lambda/webapp/bootstrap.zip | awk '{printf "==> target/lambda/webapp/bootstrap.zip: %.1f MB\n", $5 / 1000000}'
# The function binary is linked position-dependent (examples/webapp/build.rs: no relocations for
# the loader to apply at each cold start); a build that lost that fails here.
python3 - target/lambda/webapp/bootstrap.zip <<'PY'
import struct, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    info = z.getinfo("bootstrap")
    header = z.read(info)[:18]
kind = struct.unpack_from("<H", header, 16)[0]
print(f"==> bootstrap: {info.file_size / 1e6:.1f} MB, ELF type {kind} ({'EXEC' if kind == 2 else 'not EXEC'})")
sys.exit(0 if header[:4] == b"\x7fELF" and kind == 2 else 1)
PY

#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh machine: installs what the tests need
# (the Lambda Runtime API emulator, pinned, into a project-local virtualenv), then formatting,
# lints, docs, all tests (unit, integration, doctests, trybuild), and builds the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2

if [ ! -x .venv/bin/cargo-lambda ] || ! .venv/bin/cargo-lambda lambda --version | grep -q "$CARGO_LAMBDA_VERSION"; then
  echo "==> installing cargo-lambda $CARGO_LAMBDA_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export SVLESS_CARGO_LAMBDA="$PWD/.venv/bin/cargo-lambda"

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

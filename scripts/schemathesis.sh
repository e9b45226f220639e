#!/usr/bin/env bash
# Property-based tests of the example app's HTTP API from its generated OpenAPI definition
# (examples/webapp/api/http-api.json): the app runs on the local cloud as `cargo run -p webapp`
# starts it, the seeded admin signs in through the local user pool, and schemathesis sends
# generated requests (valid and invalid) to every operation, failing on any 5xx and any
# response its schema does not allow. Bounded: a fixed number of examples per operation and a
# fixed seed, so a run takes the same time and a failure replays.
#
# usage: scripts/schemathesis.sh [path to the webapp binary] (default target/debug/webapp)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/webapp}"
ST="${SCHEMATHESIS:-.venv-deploy/bin/schemathesis}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"
SEED="${SCHEMATHESIS_SEED:-20261201}"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
PASSWORD="Schemathesis-$RANDOM-Aa1!"
env -u AWS_ENDPOINT_URL PORT="$PORT" SVLESS_DATA_DIR="$DIR/data" WEBAPP_ADMIN_PASSWORD="$PASSWORD" \
  SVLESS_WEBSOCKET_PORT=0 "$BIN" > "$DIR/webapp.log" 2>&1 &
APP=$!
trap 'kill $APP 2>/dev/null || true; wait $APP 2>/dev/null || true; rm -rf "$DIR"' EXIT

BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('$BASE/health')" 2>/dev/null && break
  kill -0 $APP 2>/dev/null || { echo "the webapp exited:"; cat "$DIR/webapp.log"; exit 1; }
  sleep 0.2
done
python3 -c "import urllib.request; urllib.request.urlopen('$BASE/health')" || { echo "the webapp did not answer:"; cat "$DIR/webapp.log"; exit 1; }

# The admin's ID token, from the local user pool's InitiateAuth (the page's own sign-in call).
TOKEN=$(BASE="$BASE" PASSWORD="$PASSWORD" python3 - <<'PY'
import json, os, urllib.request
base = os.environ["BASE"]
config = json.load(urllib.request.urlopen(base + "/config.json"))
body = json.dumps({
    "AuthFlow": "USER_PASSWORD_AUTH",
    "ClientId": config["client_id"],
    "AuthParameters": {"USERNAME": "admin@example.com", "PASSWORD": os.environ["PASSWORD"]},
}).encode()
request = urllib.request.Request(config["cognito_endpoint"], data=body, headers={
    "content-type": "application/x-amz-json-1.1",
    "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
})
print(json.load(urllib.request.urlopen(request))["AuthenticationResult"]["IdToken"])
PY
)

# Register the admin, and make an album so the path-parameter operations meet a real one too.
python3 - "$BASE" "$TOKEN" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    r = urllib.request.Request(base + path, data=data, method=method, headers={"authorization": "Bearer " + token, "content-type": "application/json"})
    return json.load(urllib.request.urlopen(r))
call("GET", "/users/me")
call("POST", "/albums", {"title": "Schemathesis"})
PY

echo "==> schemathesis: $EXAMPLES examples per operation, seed $SEED, on $BASE"
"$ST" run examples/webapp/api/http-api.json \
  --url "$BASE" \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --request-timeout 10 \
  --no-color

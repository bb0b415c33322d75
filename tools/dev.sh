#!/usr/bin/env bash
# `make dev`: serve the API at http://localhost:${DEV_PORT:-9000} (its own paths, and /lambda-url/<name>/)
# with `cargo lambda watch` behind tools/dev_front.py (the emulator itself on a port browsers
# cannot reach), on an embedded default configuration that needs nothing set:
#   CALLER_AUTH=none, obviously fake development credentials, and the local VideoSDK stand-in.
# Real settings take over when given in the environment or in a .env file (KEY=VALUE lines):
#   VIDEOSDK_API_KEY + VIDEOSDK_SECRET (or VIDEOSDK_SECRET_ID), VIDEOSDK_API_ENDPOINT, CALLER_AUTH, ...
# LAN=1 also serves on this machine's LAN address (phones, emulators); see docs/local-development.md.
# Runs on macOS's bash 3.2 (no bash 4 features).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f .env ]; then
  set -a
  # shellcheck disable=SC1091
  . ./.env
  set +a
fi

port=${DEV_PORT:-9000}
standin_port=${DEV_STANDIN_PORT:-8790}
export CALLER_AUTH=${CALLER_AUTH:-none}
# Quiet by default: the functions' own info lines; dependencies (cargo-lambda included) only
# warn. RUST_LOG=info shows everything; METRICS_NAMESPACE=VideoSdkTokenServer the EMF lines.
if [ -z "${RUST_LOG:-}" ]; then
  RUST_LOG=warn,shared=info
  for dir in functions/*/; do
    name=$(basename "$dir")
    RUST_LOG="$RUST_LOG,${name//-/_}=info"
  done
fi
export RUST_LOG
export METRICS_NAMESPACE=${METRICS_NAMESPACE:-off}
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The Lambda emulator (cargo lambda watch) serves its Invoke and runtime APIs on the same port
# as the routes, and their body is the event. So it listens on a port browsers refuse to connect
# to (a Fetch-standard "bad port"), and tools/dev_front.py on $port forwards the API's routes, and
# the Invoke API to `cargo lambda invoke` only, stamping each event with this run's secret, which
# the functions require: an event written straight to the emulator's port mints nothing.
emulator_port=${DEV_EMULATOR_PORT:-}
if [ -z "$emulator_port" ]; then
  emulator_port=$(python3 - <<'PY'
import socket
for port in (6669, 6668, 6667, 6666, 6665, 6679, 6697, 10080):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
PY
)
  [ -n "$emulator_port" ] || { echo "make dev: no free port for the Lambda emulator among 6665-6669, 6679, 6697, 10080; set DEV_EMULATOR_PORT" >&2; exit 1; }
fi
DEV_REQUEST_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
export DEV_REQUEST_SECRET

# LAN=1: phones and emulators. The front also listens on this machine's LAN address (LAN_ADDRESS,
# else the address of the interface a default route would use: found without sending anything).
lan_address=""
case "${LAN:-}" in
  ""|0|no|false) ;;
  *)
    lan_address=${LAN_ADDRESS:-$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("192.0.2.1", 9)); print(s.getsockname()[0])' 2>/dev/null || true)}
    [ -n "$lan_address" ] || { echo "make dev LAN=1: no LAN address found; set LAN_ADDRESS" >&2; exit 1; }
    ;;
esac

# get-token, built up front with the features `cargo lambda watch` builds it with (so the watch
# finds it fresh), and the stand-in in the same cargo run: the stand-in uses only the functions'
# crates, which a fresh clone then compiles once. The other functions compile on their first call.
packages=(-p get-token)
standin=false

if [ -z "${VIDEOSDK_SECRET_ID:-}" ] && [ -z "${VIDEOSDK_API_KEY:-}" ] && [ -z "${VIDEOSDK_SECRET:-}" ]; then
  export VIDEOSDK_API_KEY=dev-api-key-not-for-videosdk
  export VIDEOSDK_SECRET=dev-secret-not-for-videosdk
  cat >&2 <<MSG
WARNING: using development credentials (VIDEOSDK_API_KEY=$VIDEOSDK_API_KEY).
         Tokens are signed with a fake secret: VideoSDK itself will reject them.
         Put your VIDEOSDK_API_KEY and VIDEOSDK_SECRET in .env to use real ones.
MSG
  if [ -z "${VIDEOSDK_API_ENDPOINT:-}" ]; then
    standin=true
    packages+=(-p videosdk-standin)
  fi
else
  # Real credentials: any web page the developer opens could call this server (it listens on
  # loopback, but the browser is on the same machine). Only pages from this machine may.
  export ALLOWED_ORIGINS=${ALLOWED_ORIGINS:-http://localhost:*,http://127.0.0.1:*,http://[::1]:*}
  [ -z "$lan_address" ] || ALLOWED_ORIGINS="$ALLOWED_ORIGINS,http://$lan_address:*"
  echo "Real credentials: only web pages from $ALLOWED_ORIGINS may call this server (ALLOWED_ORIGINS)." >&2
  # A page on another name rebound to 127.0.0.1 (DNS rebinding) is same-origin and sends no
  # Origin on a GET, but its Host is its own name: only this machine's names are served.
  export ALLOWED_HOSTS=${ALLOWED_HOSTS:-localhost,127.0.0.1,[::1]}
  if [ -n "$lan_address" ]; then
    # The Android emulator names this machine 10.0.2.2; devices use the LAN address.
    ALLOWED_HOSTS="$ALLOWED_HOSTS,$lan_address,10.0.2.2"
    ALLOWED_ORIGINS="$ALLOWED_ORIGINS,http://$lan_address:*"
  fi
  echo "Real credentials: only requests to $ALLOWED_HOSTS are served (ALLOWED_HOSTS)." >&2
  echo "Real credentials: nothing that spends (agents, recordings, transcription, streams) is opened to anonymous callers; ANONYMOUS_* in .env opts in." >&2
fi

echo "Building get-token$($standin && echo " and the VideoSDK stand-in") (about a minute on a fresh clone)..." >&2
cargo build "${packages[@]}"

if $standin; then
  # Where cargo put it (CARGO_TARGET_DIR or build.target-dir may move the target directory).
  target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  "$target_dir/debug/videosdk-standin" --port "$standin_port" &
  pids="$pids $!"
  export VIDEOSDK_API_ENDPOINT=http://127.0.0.1:$standin_port
  echo "VideoSDK calls go to the local stand-in at $VIDEOSDK_API_ENDPOINT (rooms live in memory)." >&2
  # Nothing real can be streamed or recorded from here: let anonymous local callers try live
  # streams, recordings, ending meetings and agent tokens.
  if [ "$CALLER_AUTH" = none ]; then
    export ANONYMOUS_LIVESTREAMS=${ANONYMOUS_LIVESTREAMS:-allow}
    export ANONYMOUS_HLS=${ANONYMOUS_HLS:-allow}
    export ANONYMOUS_END_LIVESTREAMS=${ANONYMOUS_END_LIVESTREAMS:-allow}
    export ANONYMOUS_CUSTOM_ROOM_IDS=${ANONYMOUS_CUSTOM_ROOM_IDS:-allow}
    export LIVESTREAM_ALLOWED_HOSTS=${LIVESTREAM_ALLOWED_HOSTS:-a.rtmp.youtube.com,live.twitch.tv}
    export ANONYMOUS_ROOM_CONTROL=${ANONYMOUS_ROOM_CONTROL:-allow}
    export ANONYMOUS_AGENT_TOKENS=${ANONYMOUS_AGENT_TOKENS:-allow}
    export ANONYMOUS_AGENT_DISPATCH=${ANONYMOUS_AGENT_DISPATCH:-allow}
  fi
  # Rooms created here report to the local webhook receiver, at its keyed URL; the stand-in
  # signs and sends the webhooks, and videosdk-webhook verifies them with the stand-in's key and
  # logs them. The development key (the sample events carry it) is not a secret: deployments get
  # a generated one.
  export WEBHOOK_KEY=${WEBHOOK_KEY:-dev-webhook-key-not-secret-0123456789}
  export WEBHOOK_URL=${WEBHOOK_URL:-http://127.0.0.1:$port/videosdk-webhook/$WEBHOOK_KEY}
fi

# The agents apps may dispatch: the stand-in's agent unless AGENTS names yours.
export AGENTS=${AGENTS:-dev-agent}

cat >&2 <<MSG
Serving the API at http://localhost:$port (CALLER_AUTH=$CALLER_AUTH): /get-token, /create-meeting,
  /validate-meeting/{meetingId}, /create-livestream, /end-livestream, /start-recording, /end-recording,
  /recordings, /end-meeting, /agent-token, /dispatch-agent, /start-transcription, /end-transcription,
  /videosdk-webhook and the apps' /v2/... and /ai/v1/agents/{agentId}/versions routes (AGENTS=$AGENTS);
  also http://localhost:$port/lambda-url/<function>/. An app's AUTH_URL: http://localhost:$port
MSG
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$emulator_port" &
watch_pid=$!
pids="$pids $watch_pid"
# The front opens $port once the emulator listens: a connection to $port means make dev is up.
python3 - "$emulator_port" "$watch_pid" <<'PY'
import os, socket, sys, time
port, watch = int(sys.argv[1]), int(sys.argv[2])
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        try:
            os.kill(watch, 0)
        except OSError:
            sys.exit("make dev: cargo lambda watch exited")
        time.sleep(0.1)
PY
functions=$(cd functions && ls -d -- */ | tr -d / | tr '\n' , )
if [ -n "$lan_address" ]; then
  real=$( [ "$standin" = true ] && echo "" || echo " and mint tokens signed with your secret")
  cat >&2 <<MSG
WARNING: LAN=1: anyone on your network can reach http://$lan_address:$port$real.
         Devices: http://$lan_address:$port; the Android emulator: http://10.0.2.2:$port.
MSG
  python3 tools/dev_front.py --port "$port" --upstream-port "$emulator_port" --functions "$functions" \
    --lan "$lan_address" &
else
  python3 tools/dev_front.py --port "$port" --upstream-port "$emulator_port" --functions "$functions" &
fi
pids="$pids $!"
echo "Stop with Ctrl-C: it stops everything make dev started." >&2
wait "$watch_pid"

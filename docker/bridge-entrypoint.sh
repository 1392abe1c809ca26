#!/usr/bin/env bash
# The bridge in the foreground of the `bridge` container: ensure_sounds and
# start_bridge of lab/lab.sh with ROOT=/ast_bridge, then exec "$@" (CMD:
# `ast-bridge serve`) so that SIGTERM from `docker compose stop` reaches the
# bridge, which answers the requests in flight and exits, as with lab.sh's
# stop_bridge. Its log is `docker compose logs bridge` (the lab's lab/run/bridge.log).
set -euo pipefail

ROOT=/ast_bridge
RUN="$ROOT/lab/run"

log() { printf '[bridge] %s\n' "$*" >&2; }

# The folders shared with Asterisk (compose.yaml mounts a named volume on each;
# Asterisk's container creates them with the owner and mode lab.sh gives them).
# Each pair is the same folder as the bridge sees it and as Asterisk sees it;
# lab.sh's defaults are chroot paths, here they are the volumes' mount points.
export AST_BRIDGE_RECORDINGS_DIR="${AST_BRIDGE_RECORDINGS_DIR:-/var/lib/ast_bridge/recordings}"
export AST_BRIDGE_ASTERISK_RECORDINGS_DIR="${AST_BRIDGE_ASTERISK_RECORDINGS_DIR:-/var/spool/asterisk/monitor/ast_bridge}"
export AST_BRIDGE_MEDIA_DIR="${AST_BRIDGE_MEDIA_DIR:-/var/lib/ast_bridge/media}"
export AST_BRIDGE_ASTERISK_MEDIA_DIR="${AST_BRIDGE_ASTERISK_MEDIA_DIR:-/var/lib/asterisk/ast_bridge-media}"
export AST_BRIDGE_SOUNDS_DIR="${AST_BRIDGE_SOUNDS_DIR:-$RUN/sounds}"
export AST_BRIDGE_CONFIG_FILE="${AST_BRIDGE_CONFIG_FILE:-$ROOT/lab/ast-bridge.toml}"

# lab.sh ensure_sounds: sounds a client may Play, a 1 kHz beep (wav) and a
# spoken prompt (mp3), made once into lab/run/sounds (in the bridge-run volume)
mkdir -p "$RUN/sounds"
[[ -f "$RUN/sounds/beep.wav" ]] || sox -q -n -r 8000 -c 1 -b 16 "$RUN/sounds/beep.wav" synth 1.5 sine 1000 vol 0.5
if [[ ! -f "$RUN/sounds/hello.mp3" ]]; then
    espeak-ng -w "$RUN/sounds/hello.wav" "Hello from the ast bridge lab" >/dev/null 2>&1
    sox -q "$RUN/sounds/hello.wav" "$RUN/sounds/hello.mp3" && rm -f "$RUN/sounds/hello.wav"
fi

log "starting the bridge (recordings $AST_BRIDGE_RECORDINGS_DIR = Asterisk's $AST_BRIDGE_ASTERISK_RECORDINGS_DIR," \
    "media $AST_BRIDGE_MEDIA_DIR = Asterisk's $AST_BRIDGE_ASTERISK_MEDIA_DIR, sounds $AST_BRIDGE_SOUNDS_DIR)"
cd "$ROOT"
exec "$@"

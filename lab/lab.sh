#!/usr/bin/env bash
# The ast_bridge lab: a real Asterisk (Debian sid packages, run in a chroot),
# sipp phones and the bridge, all on loopback. Idempotent: `up` starts what is
# not running and restarts what changed; with everything cached it takes seconds.
#
#   lab/lab.sh up       provision (if needed) and start everything, print the URLs
#   lab/lab.sh down     stop everything and unmount the chroot's bind mounts
#   lab/lab.sh status   exit 0 when Asterisk, the phones and the bridge are up
#   lab/lab.sh restart-asterisk   stop and start Asterisk only (used by tests)
#   lab/lab.sh restart-bridge     stop (SIGTERM) and start the bridge only
#
# Environment:
#   AST_BRIDGE_LAB_CACHE  where the Asterisk root file system is kept
#                         (default ~/.cache/ast_bridge)
#   AST_BRIDGE_*          passed to the bridge; a change restarts it
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/lab/run"
CACHE="${AST_BRIDGE_LAB_CACHE:-$HOME/.cache/ast_bridge}"
CHROOT="$CACHE/asterisk-sid"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
ASTERISK_PACKAGES="asterisk,asterisk-modules,asterisk-config,asterisk-core-sounds-en-gsm,asterisk-moh-opsound-gsm"
# Lab phones: number -> "port scenario"
declare -A PHONES=([101]="5071 answer" [102]="5072 answer" [103]="5073 answer"
                   [104]="5074 ring" [105]="5075 busy")
BRIDGE_STATUS_URL="http://127.0.0.1:9509/status"

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# alive and not a zombie (a killed process whose parent has not reaped it yet)
pid_alive() {
    [[ -f "$1" ]] || return 1
    local pid state
    pid="$(cat "$1")"
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)"
    [[ "$state" != Z ]]
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "the lab runs Asterisk in a chroot and needs root (run as root or with sudo)"
}

# --- host packages -----------------------------------------------------------
ensure_host_packages() {
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v sipp >/dev/null || missing+=(sip-tester)
    command -v curl >/dev/null || missing+=(curl)
    command -v lame >/dev/null || missing+=(lame)            # Record Format=mp3
    command -v sox >/dev/null || missing+=(sox libsox-fmt-mp3) # Play: converting audio for Asterisk
    command -v espeak-ng >/dev/null || missing+=(espeak-ng)  # Speak
    if ((${#missing[@]})); then
        log "installing host packages: ${missing[*]}"
        apt-get update -q >"$RUN/apt.log" 2>&1 || die "apt-get update failed, see $RUN/apt.log"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>"$RUN/apt.log" 2>&1 \
            || die "apt-get install ${missing[*]} failed, see $RUN/apt.log"
    fi
}

# --- Python environment ------------------------------------------------------
ensure_venv() {
    local stamp="$VENV/.ast_bridge-installed" want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return
    fi
    log "creating $VENV and installing ast_bridge with its test extras"
    [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]" >"$RUN/pip.log" 2>&1 \
        || die "pip install failed, see $RUN/pip.log"
    echo "$want" >"$stamp"
}

# --- Asterisk root file system ------------------------------------------------
debian_mirror() {
    local uri=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        uri="$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
    fi
    if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
        uri="$(grep -E '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

rootfs_ok() {
    [[ -x "$CHROOT/usr/sbin/asterisk" ]] && chroot "$CHROOT" /usr/sbin/asterisk -V >/dev/null 2>&1 \
        && [[ "$(cat "$CHROOT/.ast_bridge-complete" 2>/dev/null)" == "$ASTERISK_PACKAGES" ]]
}

ensure_rootfs() {
    rootfs_ok && return
    local mirror tmp
    mirror="$(debian_mirror)"
    tmp="$CACHE/asterisk-sid.tmp"
    log "building the Asterisk root file system from Debian sid ($mirror) into $CHROOT (about a minute)"
    mkdir -p "$CACHE"
    umount_chroot "$tmp"
    rm -rf "$tmp" "$CHROOT"
    debootstrap --variant=minbase --include="$ASTERISK_PACKAGES" sid "$tmp" "$mirror" \
        >"$RUN/debootstrap.log" 2>&1 || die "debootstrap failed, see $RUN/debootstrap.log"
    echo "$ASTERISK_PACKAGES" >"$tmp/.ast_bridge-complete"
    mv "$tmp" "$CHROOT"
}

mount_chroot() {
    mountpoint -q "$CHROOT/proc" || mount -t proc proc "$CHROOT/proc"
    mountpoint -q "$CHROOT/dev" || mount --bind /dev "$CHROOT/dev"
}

umount_chroot() {
    local dir="$1"
    for m in dev proc; do
        if mountpoint -q "$dir/$m" 2>/dev/null; then umount -l "$dir/$m" || true; fi
    done
}

# --- Asterisk -------------------------------------------------------------------
conf_hash() { (cd "$ROOT/asterisk-conf" && cat $(ls) | sha256sum | cut -c1-16); }

asterisk_rx() { chroot "$CHROOT" /usr/sbin/asterisk -rx "$1"; }

asterisk_running() { pid_alive "$RUN/asterisk.pid"; }

start_asterisk() {
    mount_chroot
    cp "$ROOT"/asterisk-conf/*.conf "$CHROOT/etc/asterisk/"
    # /var/run is /run, which nothing in a chroot creates for Asterisk
    chroot "$CHROOT" mkdir -p /var/run/asterisk
    chroot "$CHROOT" chown -R asterisk:asterisk /etc/asterisk /var/lib/asterisk \
        /var/log/asterisk /var/spool/asterisk /var/run/asterisk
    log "starting Asterisk"
    setsid chroot "$CHROOT" /usr/sbin/asterisk -f -U asterisk -G asterisk \
        </dev/null >"$RUN/asterisk.out" 2>&1 &
    echo $! >"$RUN/asterisk.pid"
    conf_hash >"$RUN/asterisk.conf-hash"
    local i
    for i in $(seq 1 60); do
        if asterisk_rx "core waitfullybooted" >/dev/null 2>&1; then
            log "Asterisk is fully booted"
            return
        fi
        asterisk_running || die "Asterisk exited at start, see $RUN/asterisk.out and $CHROOT/var/log/asterisk/messages.log"
        sleep 0.5
    done
    die "Asterisk did not boot within 30 s, see $RUN/asterisk.out"
}

stop_asterisk() {
    if asterisk_running; then
        log "stopping Asterisk"
        asterisk_rx "core stop now" >/dev/null 2>&1 || true
        local pid i
        pid="$(cat "$RUN/asterisk.pid")"
        for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    # an Asterisk left from an earlier run of the lab (pid file lost); only ours,
    # recognised by its root directory, never another Asterisk on the host
    local other
    for other in $(pgrep -f "^/usr/sbin/asterisk -f -U asterisk" || true); do
        [[ "$(readlink "/proc/$other/root" 2>/dev/null)" == "$CHROOT" ]] && kill -9 "$other" 2>/dev/null || true
    done
    rm -f "$RUN/asterisk.pid"
}

ensure_asterisk() {
    if asterisk_running; then
        if [[ "$(cat "$RUN/asterisk.conf-hash" 2>/dev/null)" != "$(conf_hash)" ]]; then
            log "asterisk-conf/ changed: restarting Asterisk"
            stop_asterisk
            start_asterisk
        fi
        return
    fi
    stop_asterisk
    start_asterisk
}

# --- sipp phones ------------------------------------------------------------------
# sounds a client may Play: a 1 kHz beep (wav) and a spoken prompt (mp3)
ensure_sounds() {
    mkdir -p "$RUN/sounds"
    [[ -f "$RUN/sounds/beep.wav" ]] || sox -q -n -r 8000 -c 1 -b 16 "$RUN/sounds/beep.wav" synth 1.5 sine 1000 vol 0.5
    if [[ ! -f "$RUN/sounds/hello.mp3" ]]; then
        espeak-ng -w "$RUN/sounds/hello.wav" "Hello from the ast bridge lab" >/dev/null 2>&1
        sox -q "$RUN/sounds/hello.wav" "$RUN/sounds/hello.mp3" && rm -f "$RUN/sounds/hello.wav"
    fi
}

ensure_phones() {
    local number port scenario
    [[ -f "$RUN/tone.ulaw" ]] || "$PY" "$ROOT/lab/tone.py" "$RUN/tone.ulaw"
    local want
    want="$(cat "$ROOT"/lab/sipp/*.xml | sha256sum | cut -c1-16)"
    if [[ "$(cat "$RUN/phones.hash" 2>/dev/null)" != "$want" ]]; then
        stop_phones
        echo "$want" >"$RUN/phones.hash"
    fi
    for number in "${!PHONES[@]}"; do
        read -r port scenario <<<"${PHONES[$number]}"
        pid_alive "$RUN/phone-$number.pid" && continue
        (cd "$RUN" && exec setsid sipp -sf "$ROOT/lab/sipp/$scenario.xml" -i 127.0.0.1 -p "$port" \
            -mi 127.0.0.1 -mp $((6000 + (port - 5070) * 10)) -nostdin \
            -trace_err -error_file "$RUN/phone-$number.errors" \
            -trace_logs -log_file "$RUN/phone-$number.log" \
            </dev/null >/dev/null 2>"$RUN/phone-$number.out") &
        echo $! >"$RUN/phone-$number.pid"
    done
    sleep 0.3
    for number in "${!PHONES[@]}"; do
        pid_alive "$RUN/phone-$number.pid" || die "sipp phone $number did not start, see $RUN/phone-$number.out"
    done
}

stop_phones() {
    local f
    for f in "$RUN"/phone-*.pid; do
        [[ -f "$f" ]] || continue
        kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
}

# --- the bridge ---------------------------------------------------------------------
bridge_env_hash() {
    { env | grep '^AST_BRIDGE_' | grep -v '^AST_BRIDGE_LAB_' | sort || true; conf_file_hash; } | sha256sum | cut -c1-16
}
# the bridge restarts when its settings or its code changed
conf_file_hash() { cat "$ROOT/lab/ast-bridge.toml"; find "$ROOT/ast_bridge" -name '*.py' -print0 | sort -z | xargs -0 cat; }

bridge_running() { pid_alive "$RUN/bridge.pid"; }

start_bridge() {
    log "starting the bridge"
    # recordings: Asterisk writes them inside its chroot, the bridge reads them from outside
    chroot "$CHROOT" install -d -o asterisk -g asterisk /var/spool/asterisk/monitor/ast_bridge
    chroot "$CHROOT" install -d -m 755 /var/lib/asterisk/ast_bridge-media
    (
        cd "$ROOT"
        AST_BRIDGE_RECORDINGS_DIR="${AST_BRIDGE_RECORDINGS_DIR:-$CHROOT/var/spool/asterisk/monitor/ast_bridge}" \
        AST_BRIDGE_ASTERISK_RECORDINGS_DIR="${AST_BRIDGE_ASTERISK_RECORDINGS_DIR:-/var/spool/asterisk/monitor/ast_bridge}" \
        AST_BRIDGE_MEDIA_DIR="${AST_BRIDGE_MEDIA_DIR:-$CHROOT/var/lib/asterisk/ast_bridge-media}" \
        AST_BRIDGE_ASTERISK_MEDIA_DIR="${AST_BRIDGE_ASTERISK_MEDIA_DIR:-/var/lib/asterisk/ast_bridge-media}" \
        AST_BRIDGE_SOUNDS_DIR="${AST_BRIDGE_SOUNDS_DIR:-$RUN/sounds}" \
        AST_BRIDGE_CONFIG_FILE="${AST_BRIDGE_CONFIG_FILE:-$ROOT/lab/ast-bridge.toml}" \
            setsid "$VENV/bin/ast-bridge" serve </dev/null >>"$RUN/bridge.log" 2>&1 &
        echo $! >"$RUN/bridge.pid"
    )
    bridge_env_hash >"$RUN/bridge.env-hash"
}

wait_bridge_connected() {
    local i
    for i in $(seq 1 60); do
        local body
        body="$(curl -fsS "$BRIDGE_STATUS_URL" 2>/dev/null || true)"
        if grep -q '"ami": *{"state": *"connected"' <<<"$body" \
                && grep -q '"ami_events": *{"state": *"connected"' <<<"$body"; then
            return
        fi
        bridge_running || die "the bridge exited at start, see $RUN/bridge.log"
        sleep 0.25
    done
    die "the bridge did not reach AMI within 15 s, see $RUN/bridge.log"
}

stop_bridge() {
    if bridge_running; then
        local pid i
        pid="$(cat "$RUN/bridge.pid")"
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/bridge.pid"
}

ensure_bridge() {
    if bridge_running && [[ "$(cat "$RUN/bridge.env-hash" 2>/dev/null)" == "$(bridge_env_hash)" ]]; then
        return
    fi
    bridge_running && log "bridge settings changed: restarting the bridge"
    stop_bridge
    start_bridge
}

print_urls() {
    cat <<EOF

ast_bridge lab is up
  Ozeki 10 API   http://127.0.0.1:9509/api   (user HTTP_User_1 / qwe123)
  Ozeki XE API   http://127.0.0.1:7780/      (same users)
  Bridge status  http://127.0.0.1:9509/status
  Try it         curl 'http://127.0.0.1:9509/api?command=CallSetup&Caller=101&Callee=103&Username=HTTP_User_1&Password=qwe123'
  Asterisk AMI   127.0.0.1:5038  user ast_bridge / ast_bridge_secret (bench / bench_secret)
  Asterisk HTTP  http://127.0.0.1:8088/  (ARI user ast_bridge / ast_bridge_secret, /rawman)
  Asterisk CLI   chroot $CHROOT asterisk -r
  Phones         101 102 103 answer, 104 rings, 105 busy (sipp on 127.0.0.1:5071-5075)
                 298 answers and stays up, 299 answers and hangs up
  Logs           $RUN/
EOF
}

cmd_up() {
    need_root
    mkdir -p "$RUN"
    ensure_host_packages
    ensure_venv
    ensure_rootfs
    ensure_asterisk
    ensure_phones
    ensure_sounds
    ensure_bridge
    wait_bridge_connected
    print_urls
}

cmd_down() {
    mkdir -p "$RUN"
    stop_bridge
    stop_phones
    stop_asterisk
    umount_chroot "$CHROOT"
    log "lab stopped"
}

cmd_status() {
    asterisk_running || { echo "asterisk: down"; return 1; }
    local number
    for number in "${!PHONES[@]}"; do
        pid_alive "$RUN/phone-$number.pid" || { echo "phone $number: down"; return 1; }
    done
    bridge_running || { echo "bridge: down"; return 1; }
    curl -fsS "$BRIDGE_STATUS_URL" >/dev/null || { echo "bridge: not answering"; return 1; }
    echo "lab: up"
}

case "${1:-up}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    restart-asterisk) need_root; mkdir -p "$RUN"; stop_asterisk; start_asterisk ;;
    restart-bridge) mkdir -p "$RUN"; stop_bridge; start_bridge; wait_bridge_connected ;;
    stop-asterisk) need_root; stop_asterisk ;;
    start-asterisk) need_root; mkdir -p "$RUN"; start_asterisk ;;
    *) die "usage: lab/lab.sh up|down|status|restart-asterisk|restart-bridge|stop-asterisk|start-asterisk" ;;
esac

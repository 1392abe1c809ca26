#!/usr/bin/env bash
# The lab's sipp phones in the foreground of the `phones` container: the same
# number -> port -> scenario table, sipp flags, working directory (the one that
# holds tone.ulaw) and log files as ensure_phones in lab/lab.sh, with
# ROOT=/ast_bridge: -trace_err -error_file phone-N.errors, -trace_logs
# -log_file phone-N.log (the INVITEs and DTMF a phone saw, which the tests
# read), stderr to phone-N.out. Exits (non-zero) as soon as one phone dies, so
# that `docker compose ps` shows it and the restart policy starts all five again.
set -euo pipefail

ROOT=/ast_bridge
RUN="$ROOT/lab/run"
PY=python3
# Lab phones: number -> "port scenario"
declare -A PHONES=([101]="5071 answer" [102]="5072 answer" [103]="5073 answer"
                   [104]="5074 ring" [105]="5075 busy")

log() { printf '[phones] %s\n' "$*" >&2; }

declare -A NUMBER_OF=()   # sipp pid -> phone number

stop_phones() {
    local pid
    for pid in "${!NUMBER_OF[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait || true
}

trap 'log "stopping the phones"; stop_phones; exit 0' TERM INT

mkdir -p "$RUN"
[[ -f "$RUN/tone.ulaw" ]] || "$PY" "$ROOT/lab/tone.py" "$RUN/tone.ulaw"

for number in "${!PHONES[@]}"; do
    read -r port scenario <<<"${PHONES[$number]}"
    (cd "$RUN" && exec sipp -sf "$ROOT/lab/sipp/$scenario.xml" -i 127.0.0.1 -p "$port" \
        -mi 127.0.0.1 -mp $((6000 + (port - 5070) * 10)) -nostdin \
        -trace_err -error_file "$RUN/phone-$number.errors" \
        -trace_logs -log_file "$RUN/phone-$number.log" \
        </dev/null >/dev/null 2>"$RUN/phone-$number.out") &
    NUMBER_OF[$!]=$number
    log "phone $number: $scenario on 127.0.0.1:$port (pid $!)"
done

sleep 0.3
for pid in "${!NUMBER_OF[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        number="${NUMBER_OF[$pid]}"
        log "ERROR: sipp phone $number did not start:"
        cat "$RUN/phone-$number.out" >&2 || true
        stop_phones
        exit 1
    fi
done
log "phones 101 102 103 answer, 104 rings, 105 busy (sipp on 127.0.0.1:5071-5075), logs in $RUN/"

# Foreground: wait for the first phone to end, then stop the others and fail.
dead="" status=0
wait -n -p dead || status=$?
if [[ -n "$dead" && -n "${NUMBER_OF[$dead]:-}" ]]; then
    number="${NUMBER_OF[$dead]}"
    log "ERROR: sipp phone $number (pid $dead) exited with status $status:"
    cat "$RUN/phone-$number.out" >&2 || true
    unset "NUMBER_OF[$dead]"
fi
stop_phones
exit 1

# The lab's sipp phones 101..105 (lab/lab.sh ensure_phones): sipp from Debian
# bookworm's sip-tester, the scenarios of lab/sipp/ and the tone of lab/tone.py.
# All of lab/sipp/: answer/ring/busy.xml for the five phones, and call.xml, the
# phone that places a call, which the tests run on their own (see compose.yaml
# for running it here with `docker compose exec phones`).
# Build context: the repository root (see compose.yaml).
FROM debian:bookworm-slim

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sip-tester python3 \
    && rm -rf /var/lib/apt/lists/*

# The repository's layout under /ast_bridge, so that the paths are lab.sh's
# with ROOT=/ast_bridge: scenarios in lab/sipp/, logs and tone.ulaw in lab/run/.
WORKDIR /ast_bridge
COPY lab/sipp/ lab/sipp/
COPY lab/tone.py lab/tone.py
COPY docker/phones-entrypoint.sh /usr/local/bin/phones-entrypoint.sh
RUN chmod 0755 /usr/local/bin/phones-entrypoint.sh && mkdir -p lab/run

ENTRYPOINT ["/usr/local/bin/phones-entrypoint.sh"]

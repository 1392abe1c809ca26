# The bridge, as lab/lab.sh starts it (start_bridge): `ast-bridge serve` in the
# repository root with AST_BRIDGE_CONFIG_FILE=lab/ast-bridge.toml, the Record
# and Play/Speak folders shared with Asterisk, and the sounds of ensure_sounds.
# The image installs the package itself (`pip install .`), not the lab's
# editable install with test extras. Runs as root, as in the lab: it reads the
# recordings Asterisk's user (another uid, in another container) writes.
# Build context: the repository root (see compose.yaml).
FROM python:3.11-slim

# lab.sh ensure_host_packages: the bridge's host tools
#   lame                   Record Format=mp3
#   sox, libsox-fmt-mp3    Play: converting audio for Asterisk (and ensure_sounds)
#   espeak-ng              Speak (and ensure_sounds)
# (their Depends are enough: sox depends on libsox-fmt-base, espeak-ng on its data)
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        lame sox libsox-fmt-mp3 espeak-ng \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The repository's layout under /ast_bridge (lab.sh's ROOT), the working
# directory as in start_bridge (cd "$ROOT"): the configuration's relative
# `database = "lab/run/ast_bridge.db"` lands in lab/run/, which compose.yaml
# mounts as the named volume bridge-run (the database and the sounds persist).
WORKDIR /ast_bridge
# README.md is the package's readme (pyproject.toml: readme = "README.md")
COPY pyproject.toml README.md ./
COPY ast_bridge/ ast_bridge/
COPY lab/ast-bridge.toml lab/ast-bridge.toml
RUN pip install --no-cache-dir . && mkdir -p lab/run
COPY docker/bridge-entrypoint.sh /usr/local/bin/bridge-entrypoint.sh
RUN chmod 0755 /usr/local/bin/bridge-entrypoint.sh

# The lab's configuration; AST_BRIDGE_* in the environment override it, as
# with `make lab` (see the bridge's environment: in compose.yaml). The
# entrypoint sets the folders' defaults as lab.sh start_bridge does.
ENV AST_BRIDGE_CONFIG_FILE=/ast_bridge/lab/ast-bridge.toml

# Listens on 127.0.0.1:9509 (Ozeki 10) and 127.0.0.1:7780 (Ozeki XE) of the
# host: compose.yaml runs it with network_mode: host, so nothing is EXPOSEd.
# The entrypoint makes the sounds, then execs its arguments.
ENTRYPOINT ["/usr/local/bin/bridge-entrypoint.sh"]
CMD ["ast-bridge", "serve"]

# The bridge, as lab/lab.sh starts it: `ast-bridge serve` with
# AST_BRIDGE_CONFIG_FILE=lab/ast-bridge.toml. The image installs the package
# itself (`pip install .`), not the lab's editable install with test extras.
# Build context: the repository root (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /ast_bridge
# README.md is the package's readme (pyproject.toml: readme = "README.md")
COPY pyproject.toml README.md ./
COPY ast_bridge/ ast_bridge/
COPY lab/ast-bridge.toml lab/ast-bridge.toml
RUN pip install --no-cache-dir .

# The lab's configuration; AST_BRIDGE_* in the environment override it, as
# with `make lab` (see the bridge's environment: in compose.yaml).
ENV AST_BRIDGE_CONFIG_FILE=/ast_bridge/lab/ast-bridge.toml

# Listens on 127.0.0.1:9509 (Ozeki 10) and 127.0.0.1:7780 (Ozeki XE) of the
# host: compose.yaml runs it with network_mode: host, so nothing is EXPOSEd.
CMD ["ast-bridge", "serve"]

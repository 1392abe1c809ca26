"""ast_bridge: the Ozeki Phone System HTTP API on top of Asterisk."""

__version__ = "0.1.0"

"""engine: a declarative, config-driven connector engine."""

__version__ = "0.1.0"

"""The SDK's own version and the API version it is written against (sent as `Forge-Version`)."""

__version__ = "0.1.0"
FORGE_VERSION = "2026-06-23"

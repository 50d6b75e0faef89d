"""Forge: the control plane for managed web hosting."""

__version__ = "0.1.0"

"""Varnish as the edge's cache tier: the VCL, the labels every stored object carries, the
labelling store behind Varnish and the purge agent's way to Varnish (docs/edge.md, "Running
Varnish")."""

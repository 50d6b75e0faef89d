"""The command groups of mf, one module per API area."""

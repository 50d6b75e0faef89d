"""The cache's control plane: the purge log, the registry of edges and each edge's proof."""

"""Each spec's desired state, kept under the digest of its inputs so a converged command need not load it again."""

"""How images travel: listing, the build cache, registries and logins, bundles, offline bases."""

"""A small gallery site that uses imagex_dedup the way a host project would."""

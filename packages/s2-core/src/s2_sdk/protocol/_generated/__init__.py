"""Generated protobuf messages (do not edit)."""

"""The engine: the account, its basins and streams, access control, configuration and
usage, independent of HTTP. It persists through the storage layer."""

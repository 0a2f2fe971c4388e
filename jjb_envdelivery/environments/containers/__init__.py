"""The container provider: environments of containers described by a Compose file."""

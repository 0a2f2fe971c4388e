"""Environment templates: the lifecycle, the catalog and the providers."""

"""Pushing a scope to Jenkins: the REST client, the plan (what would change), applying it, and
the scope's cache of what it last applied. Rendering and checking happen before, in the
orchestration layer."""

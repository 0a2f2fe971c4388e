"""Pushing a scope to Jenkins: ownership marks, the REST client, the plan, the scoped update."""

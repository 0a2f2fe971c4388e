"""Everything that touches Jenkins Job Builder: its pipeline, our components, the shipped templates."""

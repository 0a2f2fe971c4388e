"""Everything that touches Jenkins Job Builder: the pipeline that sequences its stages, the
rendered items, our JJB components (``builders``), the confined loader for team YAML, and the
fast path behind its switch (``fast``)."""

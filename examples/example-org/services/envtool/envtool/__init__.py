"""envtool: the example organisation's provisioning tool.

It writes the environment an environment configuration describes (``provision``) and validates
the environment it runs in (``check``). The environment jobs run it as ``envtool`` through
``jjb-envdelivery env``. Standard library only, so it runs on any machine with Python 3.11.
"""

__version__ = "1.0.0"

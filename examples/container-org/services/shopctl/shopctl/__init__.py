"""shopctl: the container organisation's provisioning tool.

``jjb-envdelivery env`` runs it once an environment's containers are up (the container provider):
it seeds the stock levels into the stock service and names the environment on the storefront's
page, both with ``podman exec`` in the running containers, then asks every service for its
version over HTTP and reports them. Standard library only, so it runs on any agent with Python 3.11.
"""

__version__ = "1.0.0"

"""jjb-envdelivery: continuous delivery of whole environments with Jenkins Job Builder."""

__version__ = "0.1.0"

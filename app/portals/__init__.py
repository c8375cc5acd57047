"""Installations: who installs, the portal and its vault, registration, connections, limits, page tokens."""

"""The installed version, and the User-Agent every outgoing request of the app sends.

A module of its own (not the package ``__init__``) so that the engine and the veImageX client,
the lowest layers, can name the version without importing the package root.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imagex-dedup")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

USER_AGENT = f"imagex-dedup/{__version__}"

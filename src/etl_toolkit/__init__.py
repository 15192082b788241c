"""etl-toolkit: files land in PostgreSQL correctly, fast and visibly."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("etl-toolkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

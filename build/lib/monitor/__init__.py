"""fresh: freshness contracts for data teams."""

__version__ = "0.1.0"

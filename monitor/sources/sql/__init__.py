"""`table`/`query` sources: DuckDB directly, other databases through SQLAlchemy, and warehouse
metadata.
"""

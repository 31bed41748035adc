"""`run_log` sources: the newest successful run of a job, from a table or from JSON-lines / dbt
files.
"""

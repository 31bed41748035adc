"""`files` sources: the newest file of a glob (local or S3), or the newest value inside the
files.
"""

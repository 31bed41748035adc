"""Files to a `Project`, never connects: YAML with positions, settings, contracts, source
specs, the SQL guard, selection, secret masking.
"""

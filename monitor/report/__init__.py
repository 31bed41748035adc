"""`fresh check` output formats and the API's JSON, from one Verdict."""

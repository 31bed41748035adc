"""Pure values and rules, no I/O: models, verdicts, cron schedules, durations, the clock,
errors.
"""

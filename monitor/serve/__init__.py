"""`fresh serve`, the runtime: service, scheduler loop, plan, leases, reload, metrics, logs."""

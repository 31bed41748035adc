"""`heartbeat` sources: pings recorded in the state store, and the client that sends them."""

"""`openlineage` sources: RunEvents that `fresh serve` received, kept in the state store."""

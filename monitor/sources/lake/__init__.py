"""Table formats read from their own metadata: Delta Lake (`delta:`) and Iceberg (`iceberg:`)."""

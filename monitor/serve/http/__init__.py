"""The HTTP side of `fresh serve`: routes, pages, status page, OpenAPI."""

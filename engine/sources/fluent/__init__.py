"""Sources that read from Fluent Commerce (paginated GraphQL queries)."""

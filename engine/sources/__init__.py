"""Sources: list items (files, objects, payloads, query results) and read them."""

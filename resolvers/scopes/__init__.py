"""GraphQL for customers, projects and roles: queries, ``node(id:)`` and the mutations."""

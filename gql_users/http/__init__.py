"""What the aiohttp side shares: the app and request keys, JSON and GraphQL-shaped responses
with content negotiation, the client's address, and authentication (the caller middleware and
``require_caller``).

Below the REST adapter and the app, above the core: ``gql_users.rest`` imports this, never
``gql_users.web``, which composes the app (and the GraphQL view) from all of them.
"""

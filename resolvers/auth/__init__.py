"""The authentication domain of the GraphQL API: login and logout."""

"""gql-users: a GraphQL gateway over user accounts, with a REST shim of the Waldur users API."""

__version__ = "0.1.0"

"""The users domain of the GraphQL API: types, inputs, queries, mutations, loaders."""

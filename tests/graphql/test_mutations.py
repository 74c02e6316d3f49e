"""What only GraphQL has among the mutations: several mutations in one document, and the wire
form of a mutation's payload. Each mutation's results, denials and input problems (``userErrors``
with a code and the camelCase field) are tested through both APIs in tests/parity."""

from __future__ import annotations

from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient

REFRESH = """mutation($uuid: UUID!) { refreshToken(uuid: $uuid) {
  token { token created userUsername } userErrors { message } } }"""


async def test_a_refreshed_tokens_creation_time_is_utc_with_a_z(
    gql: GraphQLClient, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    bob = await factory.user("bob")
    data = await gql.ok(REFRESH, {"uuid": bob.uuid.hex}, headers=await factory.auth(staff))
    token = data["refreshToken"]["token"]
    assert token["userUsername"] == "bob" and token["token"] == await factory.token(bob)
    assert token["created"].endswith("Z")


# --- several mutations in one document ---------------------------------------------------------


async def test_mutations_of_one_document_see_each_others_writes(
    gql: GraphQLClient, factory: Factory
) -> None:
    """The loaders' caches are emptied after each write, and a failed write (whose session is
    rolled back) neither loses track of the caller nor nulls the other mutations' results."""
    alice = await factory.user("alice")
    response = await gql(
        """mutation($uuid: UUID!) {
          first: changeEmail(uuid: $uuid, email: "one@example.com") { user { requestedEmail } }
          bad: confirmEmail(code: "00000000000000000000000000000000") { confirmed }
          second: changeEmail(uuid: $uuid, email: "two@example.com") { user { requestedEmail } }
        }""",
        {"uuid": alice.uuid.hex},
        headers=await factory.auth(alice),
    )
    assert response.data == {
        "first": {"user": {"requestedEmail": "one@example.com"}},
        "bad": None,
        "second": {"user": {"requestedEmail": "two@example.com"}},
    }
    assert response.codes == ["NOT_FOUND"]
    assert response.errors[0]["path"] == ["bad"]

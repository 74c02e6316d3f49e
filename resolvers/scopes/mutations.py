"""Mutations of customers, projects and roles: each one call of the administration core
(``gql_users.accounts.organisations``, ``role_grants``), the same as REST's routes, with the
same rules and messages (docs/writes.md#customers-and-projects, docs/writes.md#roles). Input
problems come back as ``userErrors``; who may not act gets ``FORBIDDEN``, an invisible target
``NOT_FOUND``, a customer that still has projects ``CONFLICT``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts import organisations, role_grants
from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import BadRequest, NotFound, ValidationFailed
from gql_users.accounts.operations import InputReader, already_read
from gql_users.accounts.scope_links import get_visible_permission
from gql_users.db.models import UserRole
from resolvers.context import Info
from resolvers.errors import UserError, user_errors
from resolvers.scopes.inputs import CreateProjectInput, CustomerInput, ProjectInput, RoleGrantInput
from resolvers.users.inputs import patch
from resolvers.users.types import Customer, Permission, Project
from resolvers.writes import core_write

InputProblem = (ValidationFailed, BadRequest)


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProjectPayload:
    project: Project | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteScopePayload:
    deleted_uuid: UUID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PermissionPayload:
    permission: Permission | None = strawberry.field(
        default=None, description="The grant; null when its holder is not visible to you."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeRolePayload:
    revoked: bool = strawberry.field(
        default=False, description="False when the user did not hold the role (a success too)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


GrantWrite = Callable[
    [AsyncSession, Caller, role_grants.ScopeRef, InputReader[Mapping[str, Any]]],
    Awaitable[UserRole],
]


async def _grant_write(info: Info, input: RoleGrantInput, write: GrantWrite) -> PermissionPayload:
    """Run ``write`` (grant, or change the expiration) and answer with the grant as the
    caller sees it, read in the mutation's hold of the session."""
    context = info.context
    scope, body = input.to_core()
    async with core_write(context) as session:
        try:
            grant = await write(session, context.caller, scope, already_read(body))
        except InputProblem as problem:
            return PermissionPayload(user_errors=user_errors(problem))
        try:
            row = await get_visible_permission(session, context.caller, grant.uuid)
        except NotFound:
            return PermissionPayload()
        return PermissionPayload(permission=Permission(context, row))


@strawberry.type
class ScopeMutations:
    @strawberry.mutation(description="Create a customer (staff only).")
    async def create_customer(self, info: Info, input: CustomerInput) -> CustomerPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                customer = await organisations.create_customer(
                    session, context.caller, already_read(patch(input))
                )
            except InputProblem as problem:
                return CustomerPayload(user_errors=user_errors(problem))
        return CustomerPayload(customer=Customer.from_model(customer))

    @strawberry.mutation(description="Change the fields given in input (staff only).")
    async def update_customer(
        self, info: Info, uuid: UUID, input: CustomerInput
    ) -> CustomerPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                customer = await organisations.update_customer(
                    session, context.caller, uuid, already_read(patch(input))
                )
            except InputProblem as problem:
                return CustomerPayload(user_errors=user_errors(problem))
        return CustomerPayload(customer=Customer.from_model(customer))

    @strawberry.mutation(
        description="Delete a customer that has no project (staff only); CONFLICT otherwise."
    )
    async def delete_customer(self, info: Info, uuid: UUID) -> DeleteScopePayload | None:
        context = info.context
        async with core_write(context) as session:
            await organisations.delete_customer(session, context.caller, uuid)
        return DeleteScopePayload(deleted_uuid=uuid)

    @strawberry.mutation(description="Create a project (staff, or an owner of its customer).")
    async def create_project(self, info: Info, input: CreateProjectInput) -> ProjectPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                project = await organisations.create_project(
                    session, context.caller, already_read(patch(input))
                )
            except InputProblem as problem:
                return ProjectPayload(user_errors=user_errors(problem))
        return ProjectPayload(project=Project.from_model(project))

    @strawberry.mutation(
        description="Change the fields given in input (staff, or an owner of its customer)."
    )
    async def update_project(
        self, info: Info, uuid: UUID, input: ProjectInput
    ) -> ProjectPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                project = await organisations.update_project(
                    session, context.caller, uuid, already_read(patch(input))
                )
            except InputProblem as problem:
                return ProjectPayload(user_errors=user_errors(problem))
        return ProjectPayload(project=Project.from_model(project))

    @strawberry.mutation(description="Delete a project (staff, or an owner of its customer).")
    async def delete_project(self, info: Info, uuid: UUID) -> DeleteScopePayload | None:
        context = info.context
        async with core_write(context) as session:
            await organisations.delete_project(session, context.caller, uuid)
        return DeleteScopePayload(deleted_uuid=uuid)

    @strawberry.mutation(
        description="Grant a role in a customer or project (staff anything; a customer owner "
        "the roles of the customer and its projects; a project manager the member role)."
    )
    async def grant_role(self, info: Info, input: RoleGrantInput) -> PermissionPayload | None:
        return await _grant_write(info, input, role_grants.grant_role)

    @strawberry.mutation(
        description="Set the expiration time of a current grant (null or left out: permanent); "
        "who may is as for grantRole."
    )
    async def update_role_expiration(
        self, info: Info, input: RoleGrantInput
    ) -> PermissionPayload | None:
        return await _grant_write(info, input, role_grants.update_role_expiration)

    @strawberry.mutation(
        description="Revoke a user's current grant of a role in a scope; who may is as for "
        "grantRole. expirationTime is ignored."
    )
    async def revoke_role(self, info: Info, input: RoleGrantInput) -> RevokeRolePayload | None:
        context = info.context
        scope, body = input.to_core()
        body.pop("expiration_time", None)
        async with core_write(context) as session:
            try:
                revoked = await role_grants.revoke_role(
                    session, context.caller, scope, already_read(body)
                )
            except InputProblem as problem:
                return RevokeRolePayload(user_errors=user_errors(problem))
        return RevokeRolePayload(revoked=revoked)

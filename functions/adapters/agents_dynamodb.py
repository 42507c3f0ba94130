"""DynamoDB storage of agents, in the tickets table.

All agents of a tenant share the partition `TENANT#<tenant>#AGENTS` (sort key `AGENT#<id>`), so
routing reads them with one Query. The load counters in the same item change only through the
ticket transactions (functions/adapters/dynamodb.py). Agent updates never write them, so an
update cannot lose a counter change that happened meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.adapters.dynamodb import agent_sk, agents_pk, from_item, to_item
from functions.domain.agents import AgentExistsError, AgentVersionConflictError
from functions.domain.errors import DependencyError, NotFoundError
from functions.models.agents import Agent
from functions.models.audit import AuditRecord

if TYPE_CHECKING:
    from functions.adapters.audit import DynamoAuditLog

# Fields an update writes; load is left to the ticket transactions.
UPDATED_FIELDS = ("display_name", "queues", "skills", "capacity", "working_hours", "presence", "active", "version", "updated_at")


class DynamoAgentRepository:
    def __init__(self, client: Any, table_name: str, audit: DynamoAuditLog | None = None) -> None:
        self._client = client
        self._table = table_name
        self._audit = audit

    def register_agent(self, agent: Agent, records: Sequence[AuditRecord]) -> None:
        item = to_item({**json.loads(agent.model_dump_json()), "PK": agents_pk(agent.tenant_id), "SK": agent_sk(agent.agent_id), "type": "agent"})
        operation = {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}
        if self._transact([operation], records):
            raise AgentExistsError(agent.agent_id)

    def update_agent(self, agent: Agent, expected_version: int, records: Sequence[AuditRecord]) -> Agent:
        values = json.loads(agent.model_dump_json())
        names = {"#version": "version", "#load": "load"}
        attribute_values = to_item({":expected": expected_version, ":zero": 0})
        assignments = []
        for position, field in enumerate(UPDATED_FIELDS):
            names[f"#f{position}"] = field
            attribute_values[f":f{position}"] = to_item({"value": values[field]})["value"]
            assignments.append(f"#f{position} = :f{position}")
        # A channel new to the agent gets a zero counter; existing counters stay as they are.
        for position, channel in enumerate(sorted(values["capacity"])):
            names[f"#c{position}"] = channel
            assignments.append(f"#load.#c{position} = if_not_exists(#load.#c{position}, :zero)")
        operation = {
            "Update": {
                "TableName": self._table,
                "Key": {"PK": {"S": agents_pk(agent.tenant_id)}, "SK": {"S": agent_sk(agent.agent_id)}},
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": attribute_values,
            }
        }
        if self._transact([operation], records):
            current = self._get(agent.tenant_id, agent.agent_id)
            raise AgentVersionConflictError(agent.agent_id, expected_version, current.version if current else None)
        return self.get_agent(agent.tenant_id, agent.agent_id)

    def get_agent(self, tenant_id: str, agent_id: str) -> Agent:
        agent = self._get(tenant_id, agent_id)
        if agent is None:
            raise NotFoundError("agent", agent_id)
        return agent

    def list_agents(self, tenant_id: str) -> list[Agent]:
        agents: list[Agent] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": agents_pk(tenant_id)}, ":prefix": {"S": "AGENT#"}},
            "ConsistentRead": True,
        }
        while True:
            response = self._call("query", **request)
            agents.extend(_agent(item) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return agents
            request["ExclusiveStartKey"] = last_key

    # Internals.

    def _get(self, tenant_id: str, agent_id: str) -> Agent | None:
        response = self._call(
            "get_item",
            TableName=self._table,
            Key={"PK": {"S": agents_pk(tenant_id)}, "SK": {"S": agent_sk(agent_id)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _agent(item) if item else None

    def _transact(self, operations: list[dict[str, Any]], records: Sequence[AuditRecord]) -> bool:
        """Run the operations with their audit entries; return True when operation 0's condition failed."""
        try:
            if self._audit is not None and records:
                self._audit.write_with_entries(operations, records)
            else:
                self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    return True
            raise DependencyError(f"DynamoDB transaction failed: {error.response['Error']['Code']}") from error
        return False

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            raise DependencyError(f"DynamoDB {operation} failed: {error.response['Error']['Code']}") from error


def _agent(item: dict[str, Any]) -> Agent:
    values = from_item(item)
    return Agent.model_validate({key: value for key, value in values.items() if key not in {"PK", "SK", "type"}})

"""The API's OpenAPI 3.1 description, built here so that it names exactly the routes app/api/views.py has."""

from __future__ import annotations

from typing import Any

OWNER = {
    "type": "object",
    "required": ["type_id", "id"],
    "additionalProperties": False,
    "properties": {
        "type_id": {
            "type": "integer",
            "minimum": 1,
            "description": "OWNER_TYPE_ID: 1 lead, 2 deal, 3 contact, 4 company",
        },
        "id": {"type": "integer", "minimum": 1},
    },
}
LAYOUT = {
    "type": "object",
    "required": ["blocks"],
    "description": "RestAppLayoutDto: 1 to 20 content blocks keyed by name (notes §6.2).",
    "properties": {"blocks": {"type": "object", "minProperties": 1, "maxProperties": 20}},
}
CREATE_EXAMPLE = {
    "portal": "example.bitrix24.com",
    "owner": {"type_id": 2, "id": 15},
    "subject": "Ticket #4711 answered",
    "description": "The customer got an answer from support.",
    "layout": {
        "blocks": {
            "ticket": {
                "type": "withTitle",
                "properties": {
                    "title": "Ticket",
                    "block": {"type": "text", "properties": {"value": "#4711"}},
                },
            }
        }
    },
    "responsible_id": 1,
    "deadline": "2026-12-01T10:00:00+00:00",
    "idempotency_key": "helpdesk-4711-answered",
}
TEMPLATE_EXAMPLE = {
    "portal": "example.bitrix24.com",
    "owner": {"type_id": 2, "id": 15},
    "subject": "Order 1042",
    "template": "Follow-up call",
}
CREATED_EXAMPLE = {
    "activity_id": 187,
    "provider_id": "REST_APP",
    "fallback": False,
    "blocks_set": True,
    "owner": {"type_id": 2, "id": 15},
}
LAYOUT_EXAMPLE = {
    "portal": "example.bitrix24.com",
    "layout": {"blocks": {"status": {"type": "text", "properties": {"value": "Shipped", "bold": True}}}},
}
ERROR_EXAMPLE = {
    "error": "invalid_request",
    "message": "The request body has problems; nothing was created.",
    "problems": [{"path": "owner.id", "message": "must be a positive integer", "code": "invalid"}],
}
SCHEMAS: dict[str, Any] = {
    "CreateActivity": {
        "type": "object",
        "required": ["portal", "owner"],
        "additionalProperties": False,
        "properties": {
            "portal": {"type": "string", "description": "The key's portal: its member_id or its domain."},
            "owner": {"$ref": "#/components/schemas/Owner"},
            "subject": {
                "type": "string",
                "maxLength": 512,
                "description": "Required unless a template is given.",
            },
            "description": {"type": "string", "maxLength": 10000},
            "template": {
                "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}],
                "description": "A template's id or name (of the portal), not with `layout`.",
            },
            "layout": {"$ref": "#/components/schemas/Layout"},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number"]},
                "description": "Values for the template's {{PLACEHOLDERS}} (activity field names).",
            },
            "responsible_id": {
                "type": "integer",
                "minimum": 1,
                "description": "Default: the installing user.",
            },
            "deadline": {"type": "string", "format": "date-time"},
            "idempotency_key": {
                "type": "string",
                "pattern": "^[A-Za-z0-9._:\\-]{1,100}$",
                "description": "Or the Idempotency-Key header (one of them is required; equal if both).",
            },
        },
    },
    "SetLayout": {
        "type": "object",
        "required": ["portal", "layout"],
        "additionalProperties": False,
        "properties": {"portal": {"type": "string"}, "layout": {"$ref": "#/components/schemas/Layout"}},
    },
    "Created": {
        "type": "object",
        "required": ["activity_id", "provider_id", "fallback", "blocks_set", "owner"],
        "properties": {
            "activity_id": {"type": "integer"},
            "provider_id": {"enum": ["REST_APP", "CRM_TODO"]},
            "fallback": {
                "type": "boolean",
                "description": "True when the portal refused blocks on app activities and a to-do was made.",
            },
            "blocks_set": {"type": "boolean"},
            "owner": {"$ref": "#/components/schemas/Owner"},
        },
    },
    "LayoutSet": {
        "type": "object",
        "required": ["activity_id", "blocks_set"],
        "properties": {"activity_id": {"type": "integer"}, "blocks_set": {"const": True}},
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path", "message"],
                    "properties": {
                        "path": {"type": "string"},
                        "message": {"type": "string"},
                        "code": {"type": "string"},
                    },
                },
            },
        },
    },
    "Owner": OWNER,
    "Layout": LAYOUT,
}


def _json(schema: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    if example is not None:
        content["example"] = example
    return {"application/json": content}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json("Error")}


ERRORS = {
    "400": _error("The body has problems (each with its path); nothing was created or changed."),
    "401": _error("No API key, a wrong one, or a revoked one."),
    "403": _error("The key belongs to another portal, or the app is not installed there any more."),
    "422": _error("The portal refused the request's content (e.g. an unknown owner), in words."),
    "502": _error("The portal did not answer, or the app lost its connection to it."),
}


def spec(server_url: str) -> dict[str, Any]:
    """The OpenAPI document, with the server's address."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Timeline Bridge API",
            "version": "1.0.0",
            "description": "Push activities with content blocks into a Bitrix24 portal's CRM timeline.",
        },
        "servers": [{"url": server_url}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "tb_<prefix>_<secret>"}
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/activities": {
                "post": {
                    "operationId": "createActivity",
                    "summary": "Create a REST_APP activity with content blocks, once per idempotency key",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:\\-]{1,100}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CreateActivity"},
                                "examples": {
                                    "layout": {"value": CREATE_EXAMPLE},
                                    "template": {"value": TEMPLATE_EXAMPLE},
                                },
                            }
                        },
                    },
                    "responses": {
                        "201": {"description": "Created.", "content": _json("Created", CREATED_EXAMPLE)},
                        "200": {
                            "description": "A retry: the first result (header Idempotent-Replayed: true).",
                            "content": _json("Created", CREATED_EXAMPLE),
                        },
                        **ERRORS,
                        "400": {**ERRORS["400"], "content": _json("Error", ERROR_EXAMPLE)},
                        "404": _error("No such template on this portal."),
                        "409": _error(
                            "A request with this key is still being processed; retry for its result."
                        ),
                    },
                }
            },
            "/activities/{activity_id}/layout": {
                "put": {
                    "operationId": "setActivityLayout",
                    "summary": "Set the app's content blocks on an activity (replacing its previous set)",
                    "parameters": [
                        {
                            "name": "activity_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SetLayout"},
                                "example": LAYOUT_EXAMPLE,
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Set.",
                            "content": _json("LayoutSet", {"activity_id": 187, "blocks_set": True}),
                        },
                        **ERRORS,
                        "404": _error("The portal has no such activity."),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI 3.1 description."}},
                }
            },
        },
    }

"""A discovery document for the Business Profile reviews API (My Business API v4).

google-api-python-client ships no discovery document for ``mybusiness`` v4 (the reviews methods
were never moved to the v1 Business Profile APIs), so this one is written from Google's REST
reference (developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews) and
holds only the methods the connector uses: ``list``, ``get``, ``updateReply``, ``deleteReply``.
It is fed to ``googleapiclient.discovery.build_from_document``.
"""

from __future__ import annotations

from typing import Any

SCOPE = "https://www.googleapis.com/auth/business.manage"

_NAME = {"type": "string", "location": "path", "required": True}
_REVIEW_NAME = {**_NAME, "pattern": "^accounts/[^/]+/locations/[^/]+/reviews/[^/]+$"}


def _method(
    method_id: str, http: str, path: str, params: dict[str, Any], response: str | None
) -> dict[str, Any]:
    order = [k for k, v in params.items() if v.get("location") == "path"]
    body: dict[str, Any] = {
        "id": f"mybusiness.accounts.locations.reviews.{method_id}",
        "httpMethod": http,
        "path": path,
        "flatPath": path,
        "parameters": params,
        "parameterOrder": order,
        "scopes": [SCOPE],
    }
    if response:
        body["response"] = {"$ref": response}
    return body


_METHODS: dict[str, Any] = {
    "list": _method(
        "list",
        "GET",
        "v4/{+parent}/reviews",
        {
            "parent": {**_NAME, "pattern": "^accounts/[^/]+/locations/[^/]+$"},
            "pageSize": {"type": "integer", "format": "int32", "location": "query"},
            "pageToken": {"type": "string", "location": "query"},
            "orderBy": {"type": "string", "location": "query"},
        },
        "ListReviewsResponse",
    ),
    "get": _method("get", "GET", "v4/{+name}", {"name": _REVIEW_NAME}, "Review"),
    "updateReply": {
        **_method("updateReply", "PUT", "v4/{+name}/reply", {"name": _REVIEW_NAME}, "ReviewReply"),
        "request": {"$ref": "ReviewReply"},
    },
    "deleteReply": _method(
        "deleteReply", "DELETE", "v4/{+name}/reply", {"name": _REVIEW_NAME}, "Empty"
    ),
}

_SCHEMAS: dict[str, Any] = {
    "ListReviewsResponse": {
        "id": "ListReviewsResponse",
        "type": "object",
        "properties": {
            "reviews": {"type": "array", "items": {"$ref": "Review"}},
            "averageRating": {"type": "number", "format": "double"},
            "totalReviewCount": {"type": "integer", "format": "int32"},
            "nextPageToken": {"type": "string"},
        },
    },
    "Review": {
        "id": "Review",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "reviewId": {"type": "string"},
            "reviewer": {"$ref": "Reviewer"},
            "starRating": {
                "type": "string",
                "enum": ["STAR_RATING_UNSPECIFIED", "ONE", "TWO", "THREE", "FOUR", "FIVE"],
            },
            "comment": {"type": "string"},
            "createTime": {"type": "string", "format": "google-datetime"},
            "updateTime": {"type": "string", "format": "google-datetime"},
            "reviewReply": {"$ref": "ReviewReply"},
        },
    },
    "Reviewer": {
        "id": "Reviewer",
        "type": "object",
        "properties": {
            "profilePhotoUrl": {"type": "string"},
            "displayName": {"type": "string"},
            "isAnonymous": {"type": "boolean"},
        },
    },
    "ReviewReply": {
        "id": "ReviewReply",
        "type": "object",
        "properties": {
            "comment": {"type": "string"},
            "updateTime": {"type": "string", "format": "google-datetime"},
        },
    },
    "Empty": {"id": "Empty", "type": "object", "properties": {}},
}

DOCUMENT: dict[str, Any] = {
    "kind": "discovery#restDescription",
    "discoveryVersion": "v1",
    "id": "mybusiness:v4",
    "name": "mybusiness",
    "version": "v4",
    "title": "Google My Business API (reviews)",
    "protocol": "rest",
    "rootUrl": "https://mybusiness.googleapis.com/",
    "servicePath": "",
    "batchPath": "batch",
    "parameters": {
        "alt": {"type": "string", "location": "query", "default": "json"},
        "fields": {"type": "string", "location": "query"},
    },
    "auth": {"oauth2": {"scopes": {SCOPE: {"description": "Manage your business listings"}}}},
    "resources": {
        "accounts": {"resources": {"locations": {"resources": {"reviews": {"methods": _METHODS}}}}}
    },
    "schemas": _SCHEMAS,
}
"""The discovery document (a dict, as ``build_from_document`` accepts)."""

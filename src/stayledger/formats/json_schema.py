"""The canonical event schema as JSON Schema (draft 2020-12), published in docs/event-schema.json.

Generated from the domain's field list so that the document and the validator cannot drift apart
(a test compares the published file with this output).
"""

from __future__ import annotations

from typing import Any

from stayledger.domain.events import CHANGES, DOCUMENT_TYPES, FIELDS, KINDS, MAX_EVENT_ID_LENGTH, MODES, SEXES

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}
_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "event_id": {"type": "string", "minLength": 1, "maxLength": MAX_EVENT_ID_LENGTH, "description": "Unique id given by the source."},
    "kind": {"enum": list(KINDS)},
    "occurred_on": {**_DATE, "description": "Day of the crossing, report or decision."},
    "source": {"type": "string", "minLength": 1, "description": "e.g. border, carrier, traveller, adjudication."},
    "surname": {"type": "string", "minLength": 1, "description": "As the source wrote it."},
    "given_names": {"type": "string"},
    "date_of_birth": {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$", "description": "YYYY-MM-DD, or YYYY-MM / YYYY when partly unknown."},
    "sex": {"enum": list(SEXES)},
    "nationality": {"type": "string", "pattern": "^[A-Za-z<]{1,3}$", "description": "ISO 3166-1 alpha-3 or ICAO 9303 code (D means DEU)."},
    "document_type": {"enum": list(DOCUMENT_TYPES)},
    "document_number": {"type": "string", "description": "Required for an arrival."},
    "document_issuer": {"type": "string", "pattern": "^[A-Za-z<]{1,3}$"},
    "port": {"type": "string"},
    "mode": {"enum": list(MODES)},
    "carrier": {"type": "string"},
    "admission_class": {"type": "string", "description": "B1, B2, WT, WB, F1, J1, M1, H1B, ...; Schengen: C, D. Required for an arrival."},
    "admitted_until": {**_DATE, "description": "Last day of the authorised stay; required for an arrival unless duration_of_status."},
    "duration_of_status": {"type": "boolean", "description": "Admitted for duration of status (D/S)."},
    "change": {"enum": list(CHANGES), "description": "Required for a status_change."},
    "new_class": {"type": "string", "description": "With change status_changed."},
    "new_until": {**_DATE, "description": "With status_changed and extension_granted."},
    "admission_ref": {"type": "string", "description": "event_id of the arrival a status change concerns."},
    "corrects": {"type": "string", "description": "event_id of an earlier record this one replaces (a rebuttal or an officer's fix); the original stays in the ledger."},
}


def event_json_schema() -> dict[str, Any]:
    """JSON Schema of one canonical event record."""
    properties = {name: _DESCRIPTIONS[name] for name in FIELDS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://stayledger.example/schemas/event.json",
        "title": "stayledger canonical event",
        "description": "One record per arrival, departure, departure report or status change. Any other field is rejected.",
        "type": "object",
        "additionalProperties": False,
        "required": ["event_id", "kind", "occurred_on", "source", "surname", "date_of_birth", "nationality"],
        "properties": properties,
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": "arrival"}}},
                "then": {
                    "required": ["document_number", "admission_class"],
                    "anyOf": [{"required": ["admitted_until"]}, {"properties": {"duration_of_status": {"const": True}}, "required": ["duration_of_status"]}],
                },
            },
            {"if": {"properties": {"kind": {"const": "status_change"}}}, "then": {"required": ["change"]}},
            {"if": {"properties": {"change": {"const": "status_changed"}}, "required": ["change"]}, "then": {"required": ["new_class", "new_until"]}},
            {"if": {"properties": {"change": {"const": "extension_granted"}}, "required": ["change"]}, "then": {"required": ["new_until"]}},
        ],
    }

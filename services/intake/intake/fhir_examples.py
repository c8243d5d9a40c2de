"""The documented shape and an example of the FHIR R4 transaction Bundle intake accepts (OpenAPI and tests)."""

from typing import Any

BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A FHIR R4 Bundle of type transaction (validated with fhir.resources R4B)",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["transaction"]},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fullUrl": {"type": "string"},
                    "resource": {"type": "object", "required": ["resourceType"]},
                    "request": {"type": "object"},
                },
            },
        },
    },
}

BUNDLE_EXAMPLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "fullUrl": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000001",
            "resource": {
                "resourceType": "Patient",
                "identifier": [
                    {
                        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                        "system": "urn:ehr:lakeside:mrn",
                        "value": "MRN-4711",
                    }
                ],
                "name": [{"family": "Rivera", "given": ["Ana"]}],
                "gender": "female",
                "birthDate": "1984-03-09",
                "address": [{"line": ["12 Lake Rd"], "city": "Springfield", "state": "IL", "postalCode": "62701"}],
            },
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000002",
            "resource": {
                "resourceType": "Coverage",
                "status": "active",
                "beneficiary": {"reference": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000001"},
                "payor": [{"identifier": {"system": "urn:x12:payer-id", "value": "ACME1"}}],
                "subscriberId": "M0004711",
                "relationship": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self"}
                    ]
                },
                "period": {"start": "2026-01-01"},
                "order": 1,
            },
            "request": {"method": "POST", "url": "Coverage"},
        },
        {
            "fullUrl": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000003",
            "resource": {
                "resourceType": "Encounter",
                "identifier": [{"system": "urn:ehr:lakeside:encounter", "value": "EHR-000123"}],
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
                "serviceType": {"coding": [{"system": "urn:claimflow:fhir:service-type", "code": "psychotherapy"}]},
                "subject": {"reference": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000001"},
                "participant": [
                    {"individual": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}}}
                ],
                "period": {"start": "2026-05-04T10:00:00-05:00", "end": "2026-05-04T10:53:00-05:00"},
                "length": {"value": 53, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"},
                "serviceProvider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1245319599"}},
                "diagnosis": [{"condition": {"reference": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000004"}, "rank": 1}],
                "extension": [
                    {
                        "url": "urn:claimflow:fhir:encounter-billing",
                        "extension": [
                            {"url": "patient_at_home", "valueBoolean": True},
                            {"url": "patient_status", "valueCode": "established"},
                        ],
                    }
                ],
            },
            "request": {"method": "POST", "url": "Encounter"},
        },
        {
            "fullUrl": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000004",
            "resource": {
                "resourceType": "Condition",
                "subject": {"reference": "urn:uuid:5e0d3c1a-0000-4000-8000-000000000001"},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F41.1"}]},
            },
            "request": {"method": "POST", "url": "Condition"},
        },
    ],
}

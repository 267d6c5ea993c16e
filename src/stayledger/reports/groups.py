"""Admission-class groups of the published overstay reports. Pure core."""

from __future__ import annotations

VISA_WAIVER = "Visa Waiver (WT/WB)"
OTHER_B = "Other B-1/B-2"
STUDENTS = "Students and exchange visitors (F/M/J)"
ALL_OTHER = "All other classes"


def class_group(admission_class: str) -> str:
    """The reporting group of an admission class (F1, F-1 and F all count as students)."""
    code = admission_class.upper().replace("-", "")
    if code in ("WT", "WB"):
        return VISA_WAIVER
    if code in ("B1", "B2", "B1B2", "B"):
        return OTHER_B
    if code[:1] in ("F", "M", "J"):
        return STUDENTS
    return ALL_OTHER

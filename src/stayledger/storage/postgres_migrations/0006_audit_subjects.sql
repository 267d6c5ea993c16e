-- The audit log's subject index: the persons and events each entry names (audit.log.subjects_of: the string values,
-- or the strings in the list values, of these object keys), so that a traveller's access log reads the entries
-- about them, not every entry. Filled from the log here; appends index their own entries from now on.
CREATE TABLE audit_subjects (
    subject TEXT NOT NULL,
    seq BIGINT NOT NULL
);
INSERT INTO audit_subjects (subject, seq)
SELECT DISTINCT named.subject, named.seq
FROM (
    SELECT a.seq, CASE jsonb_typeof(o.value) WHEN 'string' THEN o.value #>> '{}' END AS subject
    FROM audit_log a, jsonb_each(a.entry::jsonb -> 'objects') o
    WHERE o.key IN ('person_id', 'person_ids', 'event_ids', 'confirmed_by')
    UNION ALL
    SELECT a.seq, item #>> '{}'
    FROM audit_log a, jsonb_each(a.entry::jsonb -> 'objects') o, jsonb_array_elements(o.value) item
    WHERE o.key IN ('person_id', 'person_ids', 'event_ids', 'confirmed_by')
      AND jsonb_typeof(o.value) = 'array' AND jsonb_typeof(item) = 'string'
) named
WHERE named.subject IS NOT NULL;
CREATE INDEX audit_subjects_subject ON audit_subjects (subject);
CREATE INDEX audit_subjects_seq ON audit_subjects (seq);  -- verification reads each entry's subjects

-- A traveller's lookup finds their records by the OCR-folded document number (storage/migrations.document_key_sql);
-- the query names the same expression, so this index answers it instead of a scan of every event.
CREATE INDEX events_document_key ON events ((translate(regexp_replace(upper(document_number), '[^A-Z0-9]', '', 'g'), 'ODQIZSGB', '00012568')));

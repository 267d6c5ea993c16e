-- A posted event's person and a traveller's status read the open review items touching their events, on either
-- side: the primary key (event_id_l, event_id_r) finds the left side, this index the right one.
CREATE INDEX review_queue_right ON review_queue (event_id_r);

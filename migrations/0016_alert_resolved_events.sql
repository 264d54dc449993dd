-- The webhook also tells when an alert it announced has resolved: which event the pending
-- delivery carries.
ALTER TABLE alerts ADD COLUMN notify_event TEXT NOT NULL DEFAULT 'firing'
    CHECK (notify_event IN ('firing', 'resolved'));

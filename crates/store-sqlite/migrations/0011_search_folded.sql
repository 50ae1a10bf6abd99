-- Case search compares text folded by Rust (casedesk_domain::search::fold),
-- stored next to it, so every database runs the same plain LIKE whatever
-- its collation or locale. System messages keep an empty text_folded: no
-- search finds them. Rows written before this migration are filled in by
-- the store when it opens (casedesk_store::sql::fill_search_columns).
ALTER TABLE cases ADD COLUMN subject_folded TEXT;
ALTER TABLE messages ADD COLUMN text_folded TEXT;

-- merged_into is set on a record merged into another (and archived): reads
-- of its id answer the record it was merged into, as HubSpot's do.
ALTER TABLE records ADD COLUMN merged_into INTEGER;
CREATE INDEX records_merged_into ON records (merged_into) WHERE merged_into IS NOT NULL;

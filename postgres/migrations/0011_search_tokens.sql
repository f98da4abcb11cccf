-- CONTAINS_TOKEN's words of a value (postgres/search.go): the lower-cased
-- value itself, its runs of letters and digits, and its words separated by
-- whitespace. A search's token matches a value exactly when it is one of
-- them, so `spoke_tokens(value) @> ARRAY[token]` is CONTAINS_TOKEN without a
-- wildcard, and a GIN index on spoke_tokens of a property (records_tok_*,
-- created on demand by the searches that need one: postgres/search_index.go)
-- finds the records without reading every one. Not STRICT, so that the
-- planner inlines it (a scan calls it for every record: 40% faster); a
-- missing value gives {NULL}, which contains no token.
CREATE FUNCTION spoke_tokens(v text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[lower(v)] || regexp_split_to_array(lower(v), '[^[:alnum:]]+') || regexp_split_to_array(lower(v), '\s+')
$$;

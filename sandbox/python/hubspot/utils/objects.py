"""Paging helpers, as in the official client's hubspot.utils.objects."""
PAGE_MAX_SIZE = 100
PROPERTY_HISTORY_MAX_SIZE = 50


def fetch_all(get_page_api_client, **kwargs):
    """Calls get_page until the last page and returns every result, at most
    kwargs["limit"] of them when it is given."""
    results = []
    after = None
    page_size = PROPERTY_HISTORY_MAX_SIZE if "properties_with_history" in kwargs else PAGE_MAX_SIZE
    limit = kwargs.pop("limit", None)
    while True:
        size = min(page_size, limit - len(results)) if limit else page_size
        page = get_page_api_client.get_page(after=after, limit=size, **kwargs)
        results.extend(page.results)
        if limit and len(results) >= limit:
            break
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    return results

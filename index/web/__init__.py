"""Articles from the web: pages and feeds fetched within bounds (`fetch`, `address`),
feeds read (`feed`) and remembered between polls (`feedstate`), and articles made of
them (`reader`). The only package that talks to remote sites (httpx, feedparser)."""

from index.web.reader import Fetched, WebReader, WebReport, read_urls

__all__ = ["Fetched", "WebReader", "WebReport", "read_urls"]

"""Which article urls become links, and how they are written so that their text cannot
break out of the link (article metadata comes from users and the web).

Only absolute http(s) urls with a plain host become links. Everything in the path,
query and fragment that could end a markdown link destination or an HTML attribute
(spaces, quotes, brackets, parentheses, angle brackets, backslashes, asterisks...) is
percent-encoded, so `https://news.example.com/a) **[Log in](http://phish.example)** (`
stays one link to news.example.com.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")
# Kept as they are: unreserved characters, '%' (already encoded), and the delimiters of
# paths and queries that mean nothing to markdown or HTML.
_SAFE = "/%=&?+-._~,;!$:@"


def http_url(url: str | None) -> str | None:
    """The url as a safe link target, or None when it must not become a link (another
    scheme such as javascript: or data:, no host, credentials in the host, odd host)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not _HOST.match(parts.netloc or ""):
        return None
    return urlunsplit((
        parts.scheme.lower(), parts.netloc.lower(), quote(parts.path, safe=_SAFE),
        quote(parts.query, safe=_SAFE), quote(parts.fragment, safe=_SAFE),
    ))


def host(url: str) -> str:
    """The host of a url from `http_url`, without a leading www."""
    name = urlsplit(url).hostname or ""
    return name[4:] if name.startswith("www.") else name

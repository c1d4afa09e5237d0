"""The web family: ``web_search``, ``web_crawl``, ``get_weather``, ``fetch_as_markdown``.

``tools`` declares the four registry tools; ``http`` is the one HTTP client they share (the URL
guard on every hop, the connection pinned to the checked address); ``fetch``, ``crawl``,
``search``, ``weather`` and ``content`` do the work of each tool. The client and the HTML
libraries load on the first web call, not with the registry.
"""

from luminamind.tools.web.tools import TOOLS, fetch_as_markdown, get_weather, web_crawl, web_search

__all__ = ["TOOLS", "fetch_as_markdown", "get_weather", "web_crawl", "web_search"]

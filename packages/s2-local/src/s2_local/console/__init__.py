"""The s2-local console: the HTML, CSS and JavaScript modules served at ``/console``.

Plain files, no build step and nothing fetched from the network: the page talks only to
the server that served it, through the same API as any client.
"""

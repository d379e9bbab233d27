"""The application layer between HTTP and the domain: clearing, continuous trading, the feeder,
notifications across workers, operator settings and dashboard queries. The server's routes and the
simulator call this code; it never imports aiohttp's web layer."""

"""aiohttp middlewares, one concern per module; their order is fixed in gateway.app."""

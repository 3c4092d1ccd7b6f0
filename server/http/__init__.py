"""The HTTP edge shared by every route: error middleware and security
headers, and the answers aiohttp gives before the application runs.
"""

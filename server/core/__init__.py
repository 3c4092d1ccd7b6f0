"""Foundations every other part of server/ builds on: settings, errors, Redis
(connections, key names, outages), the process lifecycle, logs, proxies and origins,
opening hours, audit events, rate limits, and the app's shared keys.
Nothing in here imports another folder of server/.
"""

"""Invitation e-mails: an agent or patient link sent by the desk (``VIDEODESK_SMTP_URL``).

:mod:`~server.mail.smtp` holds the URL's rules and the send itself,
:mod:`~server.mail.message` the text of the message, and :mod:`~server.mail.outbox`
the background sending and its status. The REST edge is :mod:`server.api.mail`.
"""

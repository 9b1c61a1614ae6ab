"""Seeing the email before it goes out: screenshots in headless Chromium
(``screenshots.py``) and the live local preview page (``server.py``).
"""

"""Offline training and data-building scripts (``make train``); nothing here runs on the mail path."""

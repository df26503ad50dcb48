"""Delivery channels, one module each, listed explicitly in ``registry.py``."""

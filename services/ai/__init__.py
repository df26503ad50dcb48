"""The AI service: one typed provider interface, an explicit registry, and the service functions.

Workflow nodes and API handlers call ``services.ai.service``; providers live in
``services.ai.providers`` and are registered by name in ``services.ai.registry``.
"""

"""AI provider implementations; each is listed explicitly in ``services.ai.registry``."""

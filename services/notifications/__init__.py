"""Notifications: channels that deliver, and the service that queues, tracks and retries deliveries."""

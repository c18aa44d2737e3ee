"""The HTTP routes of the notification service under /v1/notifications."""

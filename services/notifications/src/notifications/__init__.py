"""notifications: SMS and email to customer contacts. Built by the notifications issue."""

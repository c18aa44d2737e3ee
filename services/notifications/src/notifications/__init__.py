"""notifications: email (SMTP) and SMS (Twilio's Messages API) to the contacts who opted in,
decided from customer and equipment events and from ad-hoc requests, recorded in a delivery log."""

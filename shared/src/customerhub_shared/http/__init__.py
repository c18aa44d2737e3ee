"""HTTP edge shared by the services: problem details, middleware, authentication."""
